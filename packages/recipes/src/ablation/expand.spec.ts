import { parseShard, runUnits, shardFromEnv, shardUnits } from './expand';

describe('shards', () => {
  const cells = [{ id: 'a' }, { id: 'b' }, { id: 'c' }] as never[];

  it('split the units disjointly and cover them: shard k of n takes every n-th unit from the k-th', () => {
    const units = runUnits(cells, [0, 1]);
    const shards = [1, 2, 3, 4].map((index) => shardUnits(units, { index, count: 4 }).map((u) => u.order));
    expect(shards).toEqual([[0, 4], [1, 5], [2], [3]]);
    expect(shards.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5]);
    // With 3 seeds, shard k of 3 is seed k − 1 of every cell (units are cell-major).
    expect(shardUnits(runUnits(cells, [0, 1, 2]), parseShard('2/3')).map((u) => u.seed)).toEqual([1, 1, 1]);
  });

  it('parses i/n and refuses anything else', () => {
    expect(parseShard(' 2/4 ')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '2', 'a/b', '1/0']) expect(() => parseShard(bad)).toThrow(/expected i\/n/);
  });

  it('comes from a Slurm array: task id minus the array minimum, of the array count', () => {
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 2, count: 4 });
    expect(shardFromEnv({})).toBeUndefined();
    // A job that is not an array has no shard.
    expect(shardFromEnv({ SLURM_JOB_ID: '12' })).toBeUndefined();
  });

  it('with DIFFPRESS_SHARDS, a Slurm task resubmitted alone keeps its shard', () => {
    // `sbatch --array=2` sets COUNT 1 and MIN 2: without the pin this would be shard 1/1, the whole run.
    const alone = { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_COUNT: '1' };
    expect(shardFromEnv(alone)).toEqual({ index: 1, count: 1 });
    expect(shardFromEnv({ ...alone, DIFFPRESS_SHARDS: '4' })).toEqual({ index: 3, count: 4 });
    expect(() => shardFromEnv({ ...alone, SLURM_ARRAY_TASK_ID: '4', DIFFPRESS_SHARDS: '4' })).toThrow(/SLURM_ARRAY_TASK_ID=4 is not a shard index of DIFFPRESS_SHARDS=4 \(0 … 3\)/);
  });

  it('comes from a Kubernetes indexed Job, which must say its completions count', () => {
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '0', DIFFPRESS_SHARDS: '3' })).toEqual({ index: 1, count: 3 });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '0' })).toThrow(/DIFFPRESS_SHARDS/);
  });
});
