import { killAllProcesses } from 'test/utils/processes';

// Runs after each e2e file's own hooks: nothing a failed test started outlives its file.
afterAll(() => killAllProcesses());
