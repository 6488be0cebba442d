/** The running embedded PostgreSQL (or null on a real one). */
export const EMBEDDED_POSTGRES = Symbol('EMBEDDED_POSTGRES');
