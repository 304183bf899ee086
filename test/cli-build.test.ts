import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// `npm test` builds first; the package's bin must run as `./dist/src/cli/main.js` after `npm run build`.
test('the built CLI file is executable', { skip: process.platform === 'win32' ? 'no mode bits on Windows' : false }, () => {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  assert.equal(statSync(main).mode & 0o111, 0o111, `${main} is not executable: the build script's chmod did not run`);
});
