import { consoleLog, memoryLog } from './progress';

function fakeStream(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('run log', () => {
  it('without a TTY prints a progress line at most every `every` seconds per task, plus the final one with its duration', () => {
    const stream = fakeStream();
    let now = 0;
    const log = consoleLog({ stream, tty: false, every: 30, now: () => now, prefix: '[w1] ' });
    log.progress('ddpm', 0, 32, 'samples');
    now = 10_000;
    log.progress('ddpm', 8, 32, 'samples');
    now = 31_000;
    log.progress('ddpm', 10.5, 32, 'samples');
    log.line('a note');
    now = 90_000;
    log.progress('ddpm', 32, 32, 'samples');
    expect(stream.text.split('\n')).toEqual([
      '[w1] ddpm: 0/32 samples  ETA ?',
      // 10.5 samples in 31 s: 21.5 left at that rate is 63 s.
      '[w1] ddpm: 10.5/32 samples  ETA 1m03s',
      '[w1] a note',
      '[w1] ddpm: 32/32 samples  done in 1m30s',
      '',
    ]);
  });

  it('on a TTY redraws one bar in place and ends it with a newline', () => {
    const stream = fakeStream();
    let now = 0;
    const log = consoleLog({ stream, tty: true, now: () => now });
    log.progress('ddim', 0, 4);
    now = 1000;
    log.progress('ddim', 2, 4);
    now = 2000;
    log.progress('ddim', 4, 4);
    expect(stream.text).toBe(
      '\r\x1b[Kddim [------------------------] 0/4  ETA ?' +
        '\r\x1b[Kddim [############------------] 2/4  ETA 1s' +
        '\r\x1b[Kddim [########################] 4/4  done in 2s\n',
    );
  });

  it('memoryLog keeps lines and finished tasks', () => {
    const log = memoryLog();
    log.line('x');
    log.progress('t', 1, 2);
    log.progress('t', 2, 2);
    expect(log.lines).toEqual(['x', 't: 2/2']);
  });
});
