import { CreateUsers1764300000000 } from 'migrations/1764300000000-CreateUsers';

/** Every migration, in order. Listed explicitly so the same set runs from src/ (Jest) and dist/. */
export const MIGRATIONS = [CreateUsers1764300000000];
