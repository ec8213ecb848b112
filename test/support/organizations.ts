// The organizations repository's lookup, for assertions.
export { findOrganization } from '../../db/repositories/organizations.repository.ts';
