// The API's calls to the Kubernetes API with the controller's credentials, bounded in time;
// a refusal or failure becomes a 502 (AMB_API_KUBE_FAILED) carrying the API server's word,
// a 404/409/422 from it keeps its meaning.
import { ErrorCodes } from '../../../core/errors.js';
import { kubeRequest, KubeRequestError } from '../../../core/kube/rest.js';
import { ApiFailure } from '../api-error.js';
import type { ApiContext } from '../context.js';

export async function kube<T>(ctx: ApiContext, method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      kubeRequest<T>(ctx.kube, method, path, body, contentType),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${method} ${path}: no answer within ${ctx.limits.kubeRequestTimeoutMs} ms`)), ctx.limits.kubeRequestTimeoutMs))),
    ]);
  } catch (err) {
    if (err instanceof KubeRequestError && err.statusCode === 404) throw new ApiFailure(404, ErrorCodes.API_NOT_FOUND, err.status?.message ?? err.message);
    if (err instanceof KubeRequestError && (err.statusCode === 409 || err.statusCode === 422)) {
      throw new ApiFailure(err.statusCode, ErrorCodes.API_INVALID, `the API server refused the write: ${err.status?.message ?? err.message}`);
    }
    throw new ApiFailure(502, ErrorCodes.API_KUBE_FAILED, `the Kubernetes API call failed: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
