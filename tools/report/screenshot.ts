/**
 * Renders a run's HTML report in headless Chromium, fails on any console message (the report has no script, so
 * any message — an error, a blocked resource — is a defect), and writes a screenshot.
 *
 *   npx nx run tools:report-screenshot --args="--report=runs/default/report.html --out=docs/images/default-report.png"
 *
 * Chromium comes from Debian (`apt-get install -y --no-install-recommends chromium`); `--chromium=<path>` or
 * `$CHROMIUM` picks another binary. Options: --width (default 1280), --height (default 2200).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { arg, argOr } from '../cli-args';

function findChromium(): string {
  const candidates = [arg('chromium'), process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => Boolean(c));
  for (const c of candidates) {
    const probe = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return c;
  }
  throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install it: apt-get install -y --no-install-recommends chromium`);
}

function main(): void {
  const report = path.resolve(argOr('report', 'runs/default/report.html'));
  const out = path.resolve(argOr('out', 'docs/images/default-report.png'));
  if (!fs.existsSync(report)) throw new Error(`${report} does not exist (run npx nx run experiments:ablation first)`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const chromium = findChromium();
  const size = `${argOr('width', '1280')},${argOr('height', '2200')}`;
  const r = spawnSync(
    chromium,
    ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--enable-logging=stderr', '--v=0', `--window-size=${size}`, `--screenshot=${out}`, pathToFileURL(report).href],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const consoleLines = (r.stderr ?? '').split('\n').filter((l) => /:CONSOLE[(:]/.test(l));
  if (r.status !== 0 || !fs.existsSync(out)) throw new Error(`chromium failed (exit ${r.status}):\n${r.stderr}`);
  if (consoleLines.length > 0) {
    process.stderr.write(`${report}: ${consoleLines.length} console message(s):\n${consoleLines.join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`${report} rendered in ${spawnSync(chromium, ['--version'], { encoding: 'utf8' }).stdout.trim()} without console messages; screenshot ${out} (${fs.statSync(out).size} bytes)\n`);
}

main();
