#!/usr/bin/env node
// The `tinyllm` executable: runs the CLI in src/cli/main.ts with this process's arguments.
import { main } from './main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
