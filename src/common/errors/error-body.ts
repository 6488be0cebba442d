export interface ErrorBody {
  code: string;
  message: string;
  error: { code: string; message: string };
  detail?: ValidationDetail[];
  [key: string]: unknown;
}

export interface ValidationDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
  input?: unknown;
}

/** The one error body (spec/README.md §3): flat fields plus the nested envelope the SDK reads. */
export function errorBody(
  code: string,
  message: string,
  extra?: Record<string, unknown>,
): ErrorBody {
  return { ...extra, code, message, error: { code, message } };
}
