// The real command-line entry point with a recording listener, for process-level tests.
import { exitWith, run } from '../../src/cli.ts';
import { recordingPlugin } from './recording-listener.ts';

exitWith(run(process.argv.slice(2), [recordingPlugin('radius', '/outposts/radius/').plugin]));
