/** Ids and times shared by the documented examples, so the examples agree with each other. */
export const EXAMPLE_IDS = {
  // The built-in echo agent (ag_ + sha256('builtin:echo')[:32]), so create examples work as sent.
  agent: 'ag_abc92e50f1f68610d1cc13ad3e1ad86c',
  elicitation: 'elicit_0194f1c2e3a4b5c6d7e8f90123456789',
  file: 'file_0194f1c2e3a4b5c6d7e8f90123456789',
  host: 'host_0194f1c2e3a4b5c6d7e8f90123456789',
  item: 'msg_0194f1c2e3a4b5c6d7e8f90123456789',
  parentSession: 'conv_0194f1c2e3a4b5c6d7e8f90000000001',
  policy: 'pol_0194f1c2e3a4b5c6d7e8f90123456789',
  response: 'resp_0194f1c2e3a4b5c6d7e8f90123456789',
  runner: 'runner_0194f1c2e3a4b5c6d7e8f90123456789',
  session: 'conv_0194f1c2e3a4b5c6d7e8f90123456789',
} as const;

export const EXAMPLE_TIME = 1_764_720_000;

/** A one-item page in the list envelope (spec/README.md §2). */
export function listExample<T extends { id?: string }>(item: T) {
  return {
    object: 'list' as const,
    data: [item],
    first_id: item.id ?? null,
    last_id: item.id ?? null,
    has_more: false,
  };
}
