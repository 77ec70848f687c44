/** Where run output goes: plain lines, and progress that may redraw in place. */
export interface RunLog {
  /** One line of the run log. */
  line(text: string): void;
  /** Progress of a long task: `done` of `total` units. */
  progress(label: string, done: number, total: number, unit?: string): void;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Options of {@link consoleLog}. */
export interface ConsoleLogOptions {
  /** The stream (default `process.stderr`, so that stdout carries only results). */
  stream?: NodeJS.WriteStream;
  /** Redraw a progress bar in place (default: when the stream is a TTY). */
  tty?: boolean;
  /** Without a TTY, the least seconds between two progress lines of one task (default 30). */
  every?: number;
  /** Prefix of every line (e.g. `[w2] ` for a worker). */
  prefix?: string;
  /** Clock in ms (tests). */
  now?: () => number;
}

/**
 * The run log of the CLI: a progress bar with ETA that redraws in place on a terminal, and plain periodic lines
 * (at most one per `every` seconds per task, plus the final one) when the output is a file or a CI log.
 *
 * @example
 * ```ts
 * const log = consoleLog();
 * log.progress('ddpm-1000 samples', 16, 32); // [#######-------] 16/32 samples  ETA 7m28s
 * ```
 */
export function consoleLog(options: ConsoleLogOptions = {}): RunLog {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const every = (options.every ?? 30) * 1000;
  const prefix = options.prefix ?? '';
  const now = options.now ?? (() => Date.now());
  const tasks = new Map<string, { start: number; startDone: number; last: number }>();
  let barShown = false;
  const clearBar = (): void => {
    if (barShown) stream.write('\r\x1b[K');
    barShown = false;
  };
  return {
    line(text) {
      clearBar();
      stream.write(`${prefix}${text}\n`);
    },
    progress(label, done, total, unit = '') {
      const t = now();
      let task = tasks.get(label);
      if (!task) {
        task = { start: t, startDone: done, last: -Infinity };
        tasks.set(label, task);
      }
      const rate = (done - task.startDone) / Math.max(1e-9, (t - task.start) / 1000);
      const eta = done >= total ? 0 : rate > 0 ? (total - done) / rate : Infinity;
      const shown = Number.isInteger(done) ? String(done) : done.toFixed(1);
      const text = `${shown}/${total}${unit ? ` ${unit}` : ''}  ${done >= total ? `done in ${duration((t - task.start) / 1000)}` : `ETA ${duration(eta)}`}`;
      if (tty) {
        const width = 24;
        const filled = Math.round((width * done) / Math.max(1, total));
        stream.write(`\r\x1b[K${prefix}${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${text}`);
        barShown = true;
        if (done >= total) {
          stream.write('\n');
          barShown = false;
        }
      } else if (done >= total || t - task.last >= every) {
        stream.write(`${prefix}${label}: ${text}\n`);
        task.last = t;
      }
      if (done >= total) tasks.delete(label);
    },
  };
}

/** A {@link RunLog} that keeps its lines. */
export interface MemoryLog extends RunLog {
  /** Lines so far, and one line per finished progress task. */
  lines: string[];
}

/** A log that keeps its lines in memory (tests, and callers that print a summary themselves). */
export function memoryLog(): MemoryLog {
  const lines: string[] = [];
  return {
    lines,
    line: (text) => lines.push(text),
    progress: (label, done, total) => {
      if (done >= total) lines.push(`${label}: ${done}/${total}`);
    },
  };
}
