#!/usr/bin/env node
// Prints one line, `N passed, N failed`, summed over the jest JSON reports that the test targets write
// (dist/test-results/<project>.json). Exits non-zero when any test failed, a suite failed to run, or no report
// exists, so that CI cannot pass on a run that executed nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'dist/test-results';
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
let passed = 0;
let failed = 0;
let brokenSuites = 0;
for (const f of files) {
  const report = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  brokenSuites += report.numRuntimeErrorTestSuites ?? 0;
}
if (files.length === 0) console.error(`jest-summary: no jest reports in ${dir}`);
if (brokenSuites > 0) console.error(`jest-summary: ${brokenSuites} test suite(s) failed to run`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(files.length === 0 || failed > 0 || brokenSuites > 0 ? 1 : 0);
