import { callContext, withCallContext } from './call-context';

describe('call context', () => {
  it('is undefined outside any scope and restored after one, also when the body throws', () => {
    expect(callContext()).toBeUndefined();
    expect(withCallContext({ stepIndices: [1, 2] }, () => callContext()?.stepIndices)).toEqual([1, 2]);
    expect(callContext()).toBeUndefined();
    expect(() => withCallContext({ stepIndices: [0] }, () => {
      throw new Error('boom');
    })).toThrow('boom');
    expect(callContext()).toBeUndefined();
  });

  it('inherits the fields an inner scope leaves out and overrides the ones it sets', () => {
    const times = (): number[] => [999, 500];
    withCallContext({ stepIndices: [0, 0], modelTimes: times }, () => {
      withCallContext({ stepIndices: [3, 4] }, () => {
        expect(callContext()?.stepIndices).toEqual([3, 4]);
        expect(callContext()?.modelTimes).toBe(times);
      });
      withCallContext({}, () => expect(callContext()?.stepIndices).toEqual([0, 0]));
      expect(callContext()?.stepIndices).toEqual([0, 0]);
    });
  });
});
