# syntax=docker/dockerfile:1
# Two stages. The first installs every dependency and bundles the sources into plain JavaScript
# (scripts/build.ts, esbuild): the image then runs no type stripping and loads a few files, not
# hundreds, and an outpost holds about 55 MB less at rest. The bundle carries its packages, so
# the image has no node_modules. test/build.e2e.test.ts runs this same build against the
# development core; test/image.test.ts checks this file against it. The Node image is pinned to
# the version the tests run on (.node-version names the major; bump both together).
FROM node:24.21.0-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore leaves out the development core (src/devcore), the demo (src/demo) and their
# seeds with their users' passwords: the build fails if the outpost's code reached them.
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.ts --outdir dist

FROM node:24.21.0-slim
ENV NODE_ENV=production
# A smaller young generation keeps RSS down with large cached directories (100k users: ~270 MB).
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
# package.json: the start-up check reads the Node.js version it needs (engines).
COPY package.json ./
COPY config ./config
COPY --from=build /app/dist ./dist
ARG GIT_BUILD_HASH=""
ENV GIT_BUILD_HASH=${GIT_BUILD_HASH}
# proxy http/https, ldap/ldaps, radius, metrics
EXPOSE 9000 9443 3389 6636 1812/udp 9300
USER node
# The healthcheck gives up after 2 s, within --timeout, so that its one-line reason reaches
# `docker inspect`.
HEALTHCHECK --interval=5s --timeout=3s --start-period=3s --retries=20 \
  CMD ["node", "dist/main.js", "healthcheck"]
ENTRYPOINT ["node", "dist/main.js"]
