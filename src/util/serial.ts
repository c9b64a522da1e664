/**
 * Runs async work one call at a time, in call order: for objects that reuse
 * buffers across calls (model input tensors), so that concurrent callers such
 * as Promise.all over a segment cannot overwrite each other's input mid-run.
 */
export function serialQueue(): <T>(work: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  };
}
