// Discovery (RFC 7644 §4): what this service provider supports, the resource types
// and their schemas (RFC 7643 §7, core attributes only; other attributes are kept
// as sent).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ScimError } from './errors.ts';
import { MAX_COUNT } from './list-query.ts';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA } from './resources.ts';

const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RT_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

type Attr = {
  name: string;
  type: string;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: string;
  returned?: string;
  uniqueness?: string;
  subAttributes?: Attr[];
};

function attr(name: string, type = 'string', extra: Partial<Attr> = {}): Attr {
  return {
    name,
    type,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...extra,
  };
}

const multi = (name: string, subs: Attr[]) =>
  attr(name, 'complex', { multiValued: true, subAttributes: subs });
const valueTypePrimary = [attr('value'), attr('display'), attr('type'), attr('primary', 'boolean')];

const SCHEMAS = [
  {
    id: USER_SCHEMA,
    name: 'User',
    description: 'User Account',
    attributes: [
      attr('userName', 'string', { required: true, uniqueness: 'server' }),
      attr('name', 'complex', {
        subAttributes: [
          'formatted',
          'familyName',
          'givenName',
          'middleName',
          'honorificPrefix',
          'honorificSuffix',
        ].map((n) => attr(n)),
      }),
      ...[
        'displayName',
        'nickName',
        'title',
        'userType',
        'preferredLanguage',
        'locale',
        'timezone',
      ].map((n) => attr(n)),
      attr('profileUrl', 'reference'),
      attr('active', 'boolean'),
      attr('password', 'string', { mutability: 'writeOnly', returned: 'never' }),
      multi('emails', valueTypePrimary),
      multi('phoneNumbers', valueTypePrimary),
      multi(
        'addresses',
        ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map(
          (n) => attr(n),
        ),
      ),
      multi('roles', valueTypePrimary),
      multi('groups', [
        attr('value', 'string', { mutability: 'readOnly' }),
        attr('display', 'string', { mutability: 'readOnly' }),
      ]),
    ],
  },
  {
    id: GROUP_SCHEMA,
    name: 'Group',
    description: 'Group',
    attributes: [
      attr('displayName', 'string', { required: true }),
      multi('members', [
        attr('value', 'string', { mutability: 'immutable' }),
        attr('display'),
        attr('$ref', 'reference', { mutability: 'immutable' }),
        attr('type'),
      ]),
    ],
  },
  {
    id: ENTERPRISE_SCHEMA,
    name: 'EnterpriseUser',
    description: 'Enterprise User',
    attributes: [
      ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) =>
        attr(n),
      ),
      attr('manager', 'complex', {
        subAttributes: [
          attr('value'),
          attr('$ref', 'reference'),
          attr('displayName', 'string', { mutability: 'readOnly' }),
        ],
      }),
    ],
  },
];

function withMeta<T extends { id: string }>(base: string, kind: string, path: string, r: T) {
  return { ...r, meta: { resourceType: kind, location: `${base}/${path}/${r.id}` } };
}

function resourceTypes(base: string) {
  return [
    withMeta(base, 'ResourceType', 'ResourceTypes', {
      schemas: [RT_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
    }),
    withMeta(base, 'ResourceType', 'ResourceTypes', {
      schemas: [RT_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: GROUP_SCHEMA,
      schemaExtensions: [],
    }),
  ];
}

function list<T>(items: T[]) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults: items.length,
    itemsPerPage: items.length,
    startIndex: 1,
    Resources: items,
  };
}

export function registerDiscoveryRoutes(
  scope: FastifyInstance,
  baseOf: (r: FastifyRequest) => string,
): void {
  scope.get('/ServiceProviderConfig', async (request) => ({
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication with the bearer token `dirsync scim create` printed',
        primary: true,
      },
    ],
    meta: {
      resourceType: 'ServiceProviderConfig',
      location: `${baseOf(request)}/ServiceProviderConfig`,
    },
  }));

  scope.get('/ResourceTypes', async (request) => list(resourceTypes(baseOf(request))));
  scope.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (request) => {
    const found = resourceTypes(baseOf(request)).find((r) => r.id === request.params.id);
    if (!found) throw new ScimError(404, `ResourceType ${request.params.id} not found`);
    return found;
  });

  const schemas = (base: string) =>
    SCHEMAS.map((sc) => withMeta(base, 'Schema', 'Schemas', { schemas: [SCHEMA_SCHEMA], ...sc }));
  scope.get('/Schemas', async (request) => list(schemas(baseOf(request))));
  scope.get<{ Params: { id: string } }>('/Schemas/:id', async (request) => {
    const found = schemas(baseOf(request)).find((sc) => sc.id === request.params.id);
    if (!found) throw new ScimError(404, `Schema ${request.params.id} not found`);
    return found;
  });
}
