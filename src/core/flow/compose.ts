import type { Stage } from '../../types.js';

/**
 * Chains async-generator stages into one, typed end to end (`pipeline()`'s typings stop at four
 * transforms). The signal given to the composite reaches every stage.
 */
export function composeStages<A, B, C>(s1: Stage<A, B>, s2: Stage<B, C>): Stage<A, C>;
export function composeStages<A, B, C, D>(s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>): Stage<A, D>;
export function composeStages<A, B, C, D, E>(s1: Stage<A, B>, s2: Stage<B, C>, s3: Stage<C, D>, s4: Stage<D, E>): Stage<A, E>;
export function composeStages<A, B, C, D, E, F>(
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  s5: Stage<E, F>,
): Stage<A, F>;
export function composeStages<A, B, C, D, E, F, G>(
  s1: Stage<A, B>,
  s2: Stage<B, C>,
  s3: Stage<C, D>,
  s4: Stage<D, E>,
  s5: Stage<E, F>,
  s6: Stage<F, G>,
): Stage<A, G>;
export function composeStages(...stages: Array<Stage<unknown, unknown>>): Stage<unknown, unknown> {
  return async function* composed(source, options) {
    let current: AsyncIterable<unknown> = source;
    for (const stage of stages) current = stage(current, options);
    yield* current;
  };
}
