// Settings from a `.env` file in the current directory, when there is one: each
// line `NAME=value` (the format of .env.example) sets a variable that is not already
// set; the environment wins over the file. The same as `node --env-file-if-exists=.env`,
// which however prints "not found" on stderr when there is none, on every command.
export function loadEnvFile(path = '.env'): void {
  try {
    process.loadEnvFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
