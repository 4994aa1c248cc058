// "password;code": how protocols that only carry a password (RADIUS PAP, LDAP simple bind)
// supply an MFA code.

export const CODE_SEPARATOR = ';';

/**
 * What a split suffix must look like to be taken as a code:
 * - a TOTP code: 6 or 8 digits;
 * - an authentik static (recovery) token: authentik generates them with `generate_id`, i.e.
 *   letters and digits only, `token_length` characters long (default 12; django-otp's older
 *   tokens are 8 lower-case base32 characters). The column holding them is `varchar(16)` in
 *   2024.4 and `varchar(50)` (with `token_length` capped at 50) in later versions, so no token
 *   the core can issue is longer than 50.
 * The lower bound of 6 keeps `pa;ss` or `x;abc` whole; a stage configured for static tokens
 * shorter than 6 characters is not supported (authentik 2024.4 itself only split 6 or 8).
 * Only ASCII digits/letters: Go's `Atoi` accepted `+12345`/`-12345` as a 6-character TOTP, we
 * do not, since no TOTP or static token ever has a sign.
 */
export const CODE_PATTERN = /^[A-Za-z0-9]{6,50}$/;

export interface SplitOptions {
  /**
   * With MFA support off, also use the whole input as the code answer, so a flow made only of
   * an authenticator-validate stage accepts "the code as the password" (RADIUS's behaviour in
   * authentik 2024.4). The LDAP listener may turn this off. Default: true.
   */
  mirrorPasswordAsCode?: boolean;
}

export interface Secrets {
  password: string;
  /** The MFA code answer, absent when none was supplied. */
  code?: string;
  /**
   * True when `code` is the whole password mirrored (MFA support off) rather than a code the
   * user typed after `;`. The authenticator solver then prefers Duo over a code device.
   */
  codeIsPassword?: boolean;
}

/**
 * Derive the password and MFA code answers from one secret.
 * - MFA support on: split at the LAST `;` when the suffix matches `CODE_PATTERN`; otherwise
 *   (no `;`, a trailing `;`, or a suffix that is no code) the whole input is the password.
 * - MFA support off: the whole input is the password, and also the code unless
 *   `mirrorPasswordAsCode` is false.
 */
export function splitSecrets(input: string, mfaSupport: boolean, opts: SplitOptions = {}): Secrets {
  if (!mfaSupport) {
    if (opts.mirrorPasswordAsCode === false || input === '') return { password: input };
    return { password: input, code: input, codeIsPassword: true };
  }
  const idx = input.lastIndexOf(CODE_SEPARATOR);
  if (idx < 0) return { password: input };
  const suffix = input.slice(idx + 1);
  if (!CODE_PATTERN.test(suffix)) return { password: input };
  return { password: input.slice(0, idx), code: suffix };
}
