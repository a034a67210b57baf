import type OpenAI from 'openai';
import { callSignal } from '../core/flow/call-signal.js';
import { BatchExplainError } from '../errors.js';

/**
 * The job's first batch goes alone: the other shards wait for it before they upload, so a
 * deployment the provider does not know stops the job after one upload, not after every shard has
 * been uploaded. Used where the model cannot be checked first (Azure: see `modelChecker`).
 */
export class FirstBatchGate {
  #outcome: Promise<void> | null = null;
  #settle: { resolve: () => void; reject: (err: unknown) => void } | null = null;

  /** True for the first caller (it must call `done` or `failed`); the others wait for that outcome first. */
  async enter(): Promise<boolean> {
    if (this.#outcome === null) {
      this.#outcome = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
      this.#outcome.catch(() => {});
      return true;
    }
    await this.#outcome;
    return false;
  }

  done(): void {
    this.#settle?.resolve();
  }

  failed(err: unknown): void {
    this.#settle?.reject(err);
  }
}

/**
 * A check that the provider knows `model` (`GET /models/{model}`): OpenAI and the local server
 * answer an unknown one 404 `model_not_found`. Any other failure (a server that has no such
 * route, a network error) proves nothing and is let through: the batch then tells.
 */
export function modelChecker(client: OpenAI, model: string, describe: string, signal?: AbortSignal): () => Promise<void> {
  return async () => {
    try {
      await client.models.retrieve(model, { maxRetries: 1, ...callSignal(signal) });
    } catch (err) {
      const e = err as { status?: number; error?: { code?: unknown; message?: unknown } };
      if (e?.status === 404 && e.error?.code === 'model_not_found') {
        throw new BatchExplainError('E_API', `the model '${model}' is unknown to ${describe} (${String(e.error.message ?? 'model_not_found')}); nothing was uploaded: give --model a model it serves`);
      }
    }
  };
}

/** A 400 whose body the client could not read an error from: how Azure refuses an unknown deployment at create. */
export function isBodilessRefusal(err: unknown): boolean {
  const e = err as { status?: number; error?: unknown };
  return e?.status === 400 && e.error === undefined;
}

/**
 * The message for a create refused so: Azure's body is the batch error list (`{"errors": {"data":
 * [{"code": "model_not_found", …}]}}`), which the Node client does not read, leaving "400 status
 * code (no body)".
 */
export function refusedCreateError(shardIndex: number, model: string | undefined, err: Error): BatchExplainError {
  const named = model ? `'${model}'` : 'named in the request lines';
  return new BatchExplainError(
    'E_API',
    `batches.create refused shard ${shardIndex} with ${err.message}: this is how Azure refuses a deployment it does not know (model_not_found); check that the deployment ${named} exists on this resource and is a Global-Batch or Data Zone Batch deployment`,
  );
}
