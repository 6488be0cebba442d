import { EXAMPLE_IDS, EXAMPLE_TIME, listExample } from 'src/common/openapi/examples';

export const TERMINAL_ID_EXAMPLE = 'term_0194f1c2e3a4b5c6d7e8f90123456789';

export const CREATE_TERMINAL_EXAMPLE = { terminal: 'shell', session_key: 'main' };

export const TERMINAL_EXAMPLE = {
  id: TERMINAL_ID_EXAMPLE,
  object: 'session.resource',
  type: 'terminal',
  session_id: EXAMPLE_IDS.session,
  name: 'shell:main',
  metadata: {
    terminal_name: 'shell',
    session_key: 'main',
    running: true,
    exit_code: null,
    terminal_transport: 'pty',
    cols: 80,
    rows: 24,
    cwd: '/home/me/projects/demo',
    sandbox_type: 'bwrap',
    created_at: EXAMPLE_TIME,
  },
  environment: 'default',
};

export const TERMINAL_LIST_EXAMPLE = listExample(TERMINAL_EXAMPLE);

export const TERMINAL_DELETED_EXAMPLE = {
  id: TERMINAL_ID_EXAMPLE,
  object: 'session.resource.deleted',
  deleted: true,
};
