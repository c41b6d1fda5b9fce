// Valid seed files for the fuzz targets, made by the project's own writers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The bytes a writer produces: `write` gets a path in a temporary directory (removed afterwards). */
export function fileBytes(write: (file: string) => void, name = 'seed'): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-fuzz-seed-'));
  try {
    const file = path.join(dir, name);
    write(file);
    return new Uint8Array(fs.readFileSync(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
