/**
 * Renders docs/errors.md from every error catalogue (`defineErrors`) of the capabilities.
 * `npm run docs:errors` rewrites the file; the test in src/core/errors-doc.test.ts fails when the
 * file and the code disagree.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderErrorsDoc } from '../src/core/errors-doc.ts';
import '../src/app/index.ts';

writeFileSync(join(import.meta.dirname, '..', 'docs', 'errors.md'), renderErrorsDoc());
process.stdout.write('docs/errors.md written\n');
