/** The run flags moved to src/sandbox/argv.ts (the Docker-style front end of the run request). */
export {parseRunArgv, RUN_FLAGS, type FlagDef, type ParsedRun} from '../sandbox/argv.js'
