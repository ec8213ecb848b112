// The dirsync command line's entry point. Node's compile cache is switched on before
// the command line's modules load: a command is one short process, and compiling
// its modules (Kysely, pg, zod, commander, the TypeScript stripping) took most of
// `dirsync status`'s time. The cache lives in the OS temporary directory, keyed by
// Node version and file contents; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./run.ts');
