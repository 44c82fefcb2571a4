import type { INestApplication } from '@nestjs/common';
import { createApp } from '@tributary/runtime';
import { callApi } from './support/api';
import { platformConfig } from './support/capture-harness';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

interface Case {
  name: string;
  method: string;
  path: string;
  /** A string is sent as it is (malformed JSON); anything else as JSON. */
  body?: unknown;
  status: number;
  /** The field the problem document must name (omit when the request has no single field at fault). */
  field?: string;
  headers?: Record<string, string>;
}

const big = 'x'.repeat(2 * 1024 * 1024);
const G = '/api/v1/groups';
const S = '/api/v1/sources';
const APPLY = '/api/v1/config/apply';
const unreachable = 'postgres://postgres:pw@127.0.0.1:1/x';
/** How the API shows the MySQL sink of the group `mysqlsink`, created with the password Sup3rSecret. */
const MYSQL_MASKED = 'mysql://u:***@127.0.0.1:3306/test';

/**
 * Every route that takes query parameters, with bad ones: always a 400 naming the parameter, whatever the
 * route (a bad boolean once was a 400, a 422 or silently false). `hook` is a webhook group.
 */
function badQueries(): Case[] {
  const bad = (path: string, field: string, method = 'GET'): Case => ({
    name: `${method} ${path}`,
    method,
    path,
    status: 400,
    field,
    ...(method === 'POST' ? { body: {} } : {}),
  });
  const messages = '/api/v1/topics/t/messages';
  const attempts = `${G}/hook/attempts`;
  return [
    bad(`${messages}?partition=one`, 'partition'),
    bad(`${messages}?partition=-1`, 'partition'),
    bad(`${messages}?offset=1.5`, 'offset'),
    bad(`${messages}?offset=99999999999999999999`, 'offset'),
    bad(`${messages}?limit=0`, 'limit'),
    bad(`${messages}?limit=1&limit=2`, 'limit'),
    bad(`${messages}?offset=0&since=2026-11-25T10:00:00Z`, 'since'),
    bad(`${messages}?since=2026-11-25T10:00:00`, 'since'),
    bad(`${messages}?at=garbage`, 'at'),
    bad(`${messages}?at=2026-13-45T10:00:00Z`, 'at'),
    bad(`${messages}?offset=0&at=2026-11-25T10:00:00Z`, 'at'),
    bad(`${messages}?since=2026-11-25T10:00:00Z&at=2026-11-25T10:00:00Z`, 'at'),
    bad('/api/v1/stats/series?window=2h', 'window'),
    bad('/api/v1/stats/series?window=15M', 'window'),
    bad('/api/v1/topics/t/tail?partition=-1', 'partition'),
    bad('/api/v1/topics/t/tail?partition=2', 'partition'),
    bad('/api/v1/dead-letters?limit=lots', 'limit'),
    bad('/api/v1/dead-letters?before=0', 'before'),
    bad('/api/v1/dead-letters?before=-5', 'before'),
    bad('/api/v1/dead-letters?group=a&group=b', 'group'),
    bad(`${attempts}?failed=yes`, 'failed'),
    bad(`${attempts}?failed=1`, 'failed'),
    bad(`${attempts}?limit=1001`, 'limit'),
    bad(`${attempts}?before=x`, 'before'),
    bad(`${attempts}?partition=1024`, 'partition'),
    bad(`${attempts}?offset=-1`, 'offset'),
    bad(`${G}/hook/dead-letters?limit=0`, 'limit'),
    bad(`${S}/nope?dropSlot=maybe`, 'dropSlot', 'DELETE'),
    bad(`${S}/nope?dropSlot=1`, 'dropSlot', 'DELETE'),
    bad(`${APPLY}?prune=yes`, 'prune', 'POST'),
    bad(`${APPLY}?dryRun=TRUE`, 'dryRun', 'POST'),
  ];
}

/**
 * Bad input gets a 4xx problem document naming the field, never a 500, and changes nothing: the
 * platform's tables are compared before and after the whole table of cases.
 */
const CASES: Case[] = [
  // groups
  { name: 'group without name', method: 'POST', path: G, body: { topics: ['t'] }, status: 400, field: 'name' },
  { name: 'group name with capitals', method: 'POST', path: G, body: { name: 'Bad', topics: ['t'] }, status: 400, field: 'name' },
  {
    name: 'group name too long',
    method: 'POST',
    path: G,
    body: { name: 'a'.repeat(101), topics: ['t'] },
    status: 400,
    field: 'name',
  },
  {
    name: 'group name with a quote',
    method: 'POST',
    path: G,
    body: { name: "g'; drop", topics: ['t'] },
    status: 400,
    field: 'name',
  },
  { name: 'group without topics', method: 'POST', path: G, body: { name: 'g1' }, status: 400, field: 'topics' },
  { name: 'group with no topic', method: 'POST', path: G, body: { name: 'g1', topics: [] }, status: 400, field: 'topics' },
  { name: 'topics not an array', method: 'POST', path: G, body: { name: 'g1', topics: 't' }, status: 400, field: 'topics' },
  { name: 'topic with a space', method: 'POST', path: G, body: { name: 'g1', topics: ['a b'] }, status: 400, field: 'topics.0' },
  {
    name: 'bad startFrom',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], startFrom: 'soon' },
    status: 400,
    field: 'startFrom',
  },
  {
    name: 'bad resetPolicy',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], resetPolicy: 'skip' },
    status: 400,
    field: 'resetPolicy',
  },
  {
    name: 'session timeout too small',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], sessionTimeoutMs: 5 },
    status: 400,
    field: 'sessionTimeoutMs',
  },
  {
    name: 'session timeout too big',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], sessionTimeoutMs: 1e9 },
    status: 400,
    field: 'sessionTimeoutMs',
  },
  {
    name: 'session timeout a string',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], sessionTimeoutMs: '6000' },
    status: 400,
    field: 'sessionTimeoutMs',
  },
  {
    name: 'session timeout fractional',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], sessionTimeoutMs: 1500.5 },
    status: 400,
    field: 'sessionTimeoutMs',
  },
  {
    name: 'unknown group field',
    method: 'POST',
    path: G,
    body: { name: 'g1', topics: ['t'], color: 'red' },
    status: 400,
    field: '(body)',
  },
  { name: 'group body an array', method: 'POST', path: G, body: [1, 2], status: 400, field: '(body)' },
  { name: 'malformed JSON', method: 'POST', path: G, body: '{"name": "g1", ', status: 400 },
  { name: 'oversized body', method: 'POST', path: G, body: { name: 'g1', topics: ['t'], pad: big }, status: 413 },
  { name: 'existing group', method: 'POST', path: G, body: { name: 'existing', topics: ['t'] }, status: 409, field: 'name' },
  { name: 'unknown group', method: 'GET', path: `${G}/nope`, status: 404, field: 'group' },
  // offsets and pause
  { name: 'pause unknown group', method: 'POST', path: `${G}/nope/pause`, status: 404, field: 'group' },
  {
    name: 'reset a running group',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: 'earliest' },
    status: 409,
    field: 'group',
  },
  {
    name: 'dry-run reset with a string flag',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: 'earliest', dryRun: 'yes' },
    status: 400,
    field: 'dryRun',
  },
  {
    name: 'dry-run reset of an unknown group',
    method: 'POST',
    path: `${G}/nope/offsets/reset`,
    body: { to: 'earliest', dryRun: true },
    status: 404,
    field: 'group',
  },
  { name: 'reset without to', method: 'POST', path: `${G}/existing/offsets/reset`, body: {}, status: 400, field: 'to' },
  {
    name: 'reset to nonsense',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: 'middle' },
    status: 400,
    field: 'to',
  },
  {
    name: 'reset to a bad time',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: { timestamp: '25/11/2026' } },
    status: 400,
    field: 'to.timestamp',
  },
  {
    name: 'reset to a negative offset',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: { offset: -3 }, topic: 't', partition: 0 },
    status: 400,
    field: 'to.offset',
  },
  {
    name: 'reset offset without partition',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: { offset: 3 } },
    status: 400,
    field: 'partition',
  },
  {
    name: 'reset partition without topic',
    method: 'POST',
    path: `${G}/existing/offsets/reset`,
    body: { to: 'latest', partition: 1 },
    status: 400,
    field: 'topic',
  },
  // pull API
  { name: 'join unknown group', method: 'POST', path: `${G}/nope/members`, body: {}, status: 404, field: 'group' },
  {
    name: 'join with a tiny session',
    method: 'POST',
    path: `${G}/existing/members`,
    body: { sessionTimeoutMs: 10 },
    status: 400,
    field: 'sessionTimeoutMs',
  },
  {
    name: 'join with an unknown field',
    method: 'POST',
    path: `${G}/existing/members`,
    body: { name: 'me' },
    status: 400,
    field: '(body)',
  },
  {
    name: 'fetch for an unknown member',
    method: 'POST',
    path: `${G}/existing/members/ghost/fetch`,
    body: {},
    status: 404,
    field: 'member',
  },
  {
    name: 'ack for an unknown member',
    method: 'POST',
    path: `${G}/existing/members/ghost/ack`,
    body: { messages: [{ topic: 't', partition: 0, offset: 0 }] },
    status: 404,
    field: 'member',
  },
  // topics
  { name: 'unknown topic', method: 'GET', path: '/api/v1/topics/nope', status: 404, field: 'name' },
  {
    name: 'messages of a partition out of range',
    method: 'GET',
    path: '/api/v1/topics/t/messages?partition=9',
    status: 400,
    field: 'partition',
  },
  {
    name: 'messages from a negative offset',
    method: 'GET',
    path: '/api/v1/topics/t/messages?offset=-1',
    status: 400,
    field: 'offset',
  },
  {
    name: 'messages with a text limit',
    method: 'GET',
    path: '/api/v1/topics/t/messages?limit=lots',
    status: 400,
    field: 'limit',
  },
  {
    name: 'messages with a huge limit',
    method: 'GET',
    path: '/api/v1/topics/t/messages?limit=100000',
    status: 400,
    field: 'limit',
  },
  // tokens
  { name: 'token without role', method: 'POST', path: '/api/v1/tokens', body: { name: 'x' }, status: 400, field: 'role' },
  {
    name: 'token with a bad role',
    method: 'POST',
    path: '/api/v1/tokens',
    body: { name: 'x', role: 'root' },
    status: 400,
    field: 'role',
  },
  {
    name: 'token with a bad name',
    method: 'POST',
    path: '/api/v1/tokens',
    body: { name: 'has space', role: 'read' },
    status: 400,
    field: 'name',
  },
  { name: 'delete an unknown token', method: 'DELETE', path: '/api/v1/tokens/12345', status: 404 },
  // sources
  {
    name: 'source with an http url',
    method: 'POST',
    path: S,
    body: { name: 's1', url: 'http://x', tables: ['public.t'] },
    status: 400,
    field: 'url',
  },
  { name: 'source without tables', method: 'POST', path: S, body: { name: 's1', tables: [] }, status: 400, field: 'tables' },
  {
    name: "a source capturing the platform's own schema",
    method: 'POST',
    path: S,
    body: { name: 's1', tables: ['tributary.sources'] },
    status: 400,
    field: 'tables.0',
  },
  {
    name: "a source capturing the platform's whole schema (any case)",
    method: 'POST',
    path: S,
    body: { name: 's1', tables: [{ table: 'Tributary.*' }] },
    status: 400,
    field: 'tables.0.table',
  },
  {
    name: 'source table not schema-qualified',
    method: 'POST',
    path: S,
    body: { name: 's1', tables: ['t'] },
    status: 400,
    field: 'tables.0',
  },
  {
    name: 'source name with capitals',
    method: 'POST',
    path: S,
    body: { name: 'S1', tables: ['public.t'] },
    status: 400,
    field: 'name',
  },
  {
    name: 'source with an unknown field',
    method: 'POST',
    path: S,
    body: { name: 's1', tables: ['public.t'], colour: 'red' },
    status: 400,
    field: '(body)',
  },
  {
    name: 'source slot not an identifier',
    method: 'POST',
    path: S,
    body: { name: 's1', tables: ['public.t'], slot: 'a-b' },
    status: 400,
    field: 'slot',
  },
  {
    name: 'unreachable source',
    method: 'POST',
    path: S,
    body: { name: 's1', url: unreachable, tables: ['public.t'] },
    status: 422,
    field: 'url',
  },
  { name: 'change an unknown source', method: 'PATCH', path: `${S}/nope`, body: { batchSize: 10 }, status: 404, field: 'name' },
  { name: 'delete an unknown source', method: 'DELETE', path: `${S}/nope`, status: 404, field: 'name' },
  {
    name: 'add a bad table to a source',
    method: 'POST',
    path: `${S}/nope/tables`,
    body: { table: 'x' },
    status: 400,
    field: 'table',
  },
  {
    name: "capture the platform's own table tributary.sources",
    method: 'POST',
    path: `${S}/nope/tables`,
    body: { table: 'tributary.sources' },
    status: 400,
    field: 'table',
  },
  // groups with sinks
  {
    name: 'postgres sink with an http url',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'postgres', url: 'http://x' } },
    status: 400,
    field: 'sink.url',
  },
  {
    name: 'sink of an unknown type',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'kafka' } },
    status: 400,
    field: 'sink.type',
  },
  {
    name: 'webhook sink with a bad secret',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'webhook', url: 'https://example.com/h', secrets: ['nope'] } },
    status: 400,
    field: 'sink.secrets.0',
  },
  {
    name: 'webhook sink setting a reserved header',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'webhook', url: 'https://example.com/h', headers: { 'webhook-id': 'x' } } },
    status: 400,
    field: 'sink.headers.webhook-id',
  },
  {
    name: 'group batch size zero',
    method: 'PATCH',
    path: `${G}/existing`,
    body: { batchSize: 0 },
    status: 400,
    field: 'batchSize',
  },
  { name: 'rename a group', method: 'PATCH', path: `${G}/existing`, body: { name: 'other' }, status: 422, field: 'name' },
  // a masked credential stays where it was: the stored password never follows a new host, port, user,
  // database or query parameter (drivers honour host= in the query), nor a masked header a new URL
  ...(
    [
      ['a new host= query parameter', `${MYSQL_MASKED}?host=198.51.100.7`],
      ['a new host', MYSQL_MASKED.replace('127.0.0.1', '198.51.100.7')],
      ['a new port', MYSQL_MASKED.replace(':3306', ':3307')],
      ['a new user', MYSQL_MASKED.replace('//u:', '//root:')],
      ['a new database', MYSQL_MASKED.replace('/test', '/mysql')],
    ] as const
  ).map(([what, url]): Case => ({
    name: `a masked MySQL password with ${what}`,
    method: 'PATCH',
    path: `${G}/mysqlsink`,
    body: { sink: { type: 'mysql', url } },
    status: 422,
    field: 'sink.url',
  })),
  {
    name: 'a masked MySQL password with a changed query parameter',
    method: 'PATCH',
    path: `${G}/mysqlq`,
    body: { sink: { type: 'mysql', url: 'mysql://u:***@127.0.0.1:3306/test?ssl=false&charset=latin1' } },
    status: 422,
    field: 'sink.url',
  },
  {
    name: 'a masked webhook header with a new URL',
    method: 'PATCH',
    path: `${G}/hookauth`,
    body: { sink: { type: 'webhook', url: 'https://attacker.example/h', headers: { authorization: '***' } } },
    status: 422,
    field: 'sink.headers.authorization',
  },
  {
    name: 'a masked webhook header with a new query parameter',
    method: 'PATCH',
    path: `${G}/hookauth`,
    body: {
      sink: { type: 'webhook', url: 'https://hooks.example.com/t?host=attacker.example', headers: { authorization: '***' } },
    },
    status: 422,
    field: 'sink.headers.authorization',
  },
  {
    name: 'change a group with a stale If-Match',
    method: 'PATCH',
    path: `${G}/existing`,
    body: { batchSize: 7 },
    headers: { 'if-match': '"v99"' },
    status: 409,
    field: 'If-Match',
  },
  {
    name: 'change a group with a malformed If-Match',
    method: 'PUT',
    path: `${G}/existing`,
    body: { topics: ['t'] },
    headers: { 'if-match': 'abc' },
    status: 400,
    field: 'If-Match',
  },
  { name: 'delete an unknown group', method: 'DELETE', path: `${G}/nope`, status: 404, field: 'group' },
  {
    name: 'rotate the secret of a pull group',
    method: 'POST',
    path: `${G}/existing/webhook/secrets/rotate`,
    status: 409,
    field: 'group',
  },
  {
    name: 'rotate the secret of an unknown group',
    method: 'POST',
    path: `${G}/nope/webhook/secrets/rotate`,
    status: 404,
    field: 'group',
  },
  // config as code
  {
    name: 'apply a bad topic name',
    method: 'POST',
    path: APPLY,
    body: { topics: [{ name: 'bad name' }] },
    status: 400,
    field: 'topics[0].name',
  },
  { name: 'apply an unknown key', method: 'POST', path: APPLY, body: { colour: 'red' }, status: 400, field: '(document)' },
  {
    name: 'apply a bad sink in a valid document',
    method: 'POST',
    path: APPLY,
    body: { topics: [{ name: 'fine' }], groups: [{ name: 'g3', topics: ['t'], sink: { type: 'mysql', url: 'x' } }] },
    status: 400,
    field: 'groups[0].sink.url',
  },
  {
    name: 'apply a partition count change (conflict)',
    method: 'POST',
    path: APPLY,
    body: { topics: [{ name: 'fine' }, { name: 't', partitions: 5 }] },
    status: 409,
    field: 'topics',
  },
  { name: 'apply with dryRun=maybe', method: 'POST', path: `${APPLY}?dryRun=maybe`, body: {}, status: 400, field: 'dryRun' },
  // browsing
  {
    name: 'messages since a non-time',
    method: 'GET',
    path: '/api/v1/topics/t/messages?since=yesterday',
    status: 400,
    field: 'since',
  },
  ...badQueries(),
  // routing
  { name: 'unknown route', method: 'GET', path: '/api/v1/nothing-here', status: 404 },
  { name: 'wrong method', method: 'PUT', path: G, body: {}, status: 404 },
  // target names: a schema comes only from a Postgres target's plain `schema.table`
  {
    name: 'mysql sink with a schema.table target',
    method: 'POST',
    path: G,
    body: {
      name: 'g2',
      topics: ['t'],
      sink: { type: 'mysql', url: 'mysql://h/db', tables: [{ source: 'public.users', target: 'app.users' }] },
    },
    status: 400,
    field: 'sink.tables.0.target',
  },
  {
    name: 'postgres sink target with a quote',
    method: 'POST',
    path: G,
    body: {
      name: 'g2',
      topics: ['t'],
      sink: { type: 'postgres', url: 'postgres://h/db', tables: [{ source: 'public.users', target: 'a"b.users' }] },
    },
    status: 400,
    field: 'sink.tables.0.target',
  },
  {
    name: 'postgres sink target of three parts',
    method: 'POST',
    path: G,
    body: {
      name: 'g2',
      topics: ['t'],
      sink: { type: 'postgres', url: 'postgres://h/db', tables: [{ source: 'public.users', target: 'a.b.c' }] },
    },
    status: 400,
    field: 'sink.tables.0.target',
  },
  {
    name: 'sink mapping of a schema wildcard',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'postgres', url: 'postgres://h/db', tables: [{ source: 'public.*' }] } },
    status: 400,
    field: 'sink.tables.0.source',
  },
  // from web pages (test/security.spec.ts has the rest, Host among them: fetch cannot set it)
  {
    name: 'a form post',
    method: 'POST',
    path: G,
    body: 'name=csrf&topics[0]=*&sink[type]=webhook&sink[url]=https://attacker.example/h',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'a text/plain post',
    method: 'POST',
    path: APPLY,
    body: '{"groups":[{"name":"csrf","topics":["*"]}]}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
    field: 'Content-Type',
  },
  {
    name: 'JSON from a page of another origin',
    method: 'POST',
    path: G,
    body: { name: 'from-evil', topics: ['t'] },
    headers: { origin: 'https://evil.example' },
    status: 403,
    field: 'Origin',
  },
  {
    name: 'a read from a page of another origin',
    method: 'GET',
    path: '/api/v1/config',
    headers: { origin: 'https://evil.example' },
    status: 403,
    field: 'Origin',
  },
  {
    name: 'a cross-site write without Origin',
    method: 'POST',
    path: `${G}/existing/pause`,
    headers: { 'sec-fetch-site': 'cross-site' },
    status: 403,
    field: 'Sec-Fetch-Site',
  },
  // retention that would overflow the janitor's now() - interval
  {
    name: 'topic retention beyond 100 years',
    method: 'PATCH',
    path: '/api/v1/topics/t',
    body: { retentionMs: 9007199254740991 },
    status: 400,
    field: 'retentionMs',
  },
  // database sink timeouts
  {
    name: 'postgres sink with a lock timeout below 100 ms',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'postgres', url: 'postgres://x/db', timeouts: { lockMs: 5 } } },
    status: 400,
    field: 'sink.timeouts.lockMs',
  },
  {
    name: 'mysql sink with an unknown timeout',
    method: 'POST',
    path: G,
    body: { name: 'g2', topics: ['t'], sink: { type: 'mysql', url: 'mysql://x/db', timeouts: { readMs: 1000 } } },
    status: 400,
    field: 'sink.timeouts',
  },
];

describe('bad input: a 4xx naming the field, never a 500, and nothing changed', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic('t', 2);
    await platform.produce('t', 2, 10, 10);
    app = (await createApp({ ...platformConfig(platform.url, []), logLevel: 'error' }, ['api'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    expect((await callApi(base, 'POST', G, { name: 'existing', topics: ['t'] })).status).toBe(201);
    const hook = { name: 'hook', topics: ['t'], sink: { type: 'webhook', url: 'https://hooks.example.com/t' } };
    expect((await callApi(base, 'POST', G, hook)).status).toBe(201);
    const mysql = (name: string, url: string) => ({ name, topics: ['t'], sink: { type: 'mysql', url } });
    expect((await callApi(base, 'POST', G, mysql('mysqlsink', 'mysql://u:Sup3rSecret@127.0.0.1:3306/test'))).status).toBe(201);
    const withQuery = mysql('mysqlq', 'mysql://u:Sup3rSecret@127.0.0.1:3306/test?ssl=false&charset=utf8mb4');
    expect((await callApi(base, 'POST', G, withQuery)).status).toBe(201);
    const auth = { ...hook, name: 'hookauth', sink: { ...hook.sink, headers: { authorization: 'Bearer s3cr3t' } } };
    expect((await callApi(base, 'POST', G, auth)).status).toBe(201);
  });

  afterAll(async () => {
    await app?.close();
    await platform?.close();
    await cluster?.stop();
  });

  async function snapshot(): Promise<string> {
    const tables = [
      'consumer_groups',
      'sources',
      'group_offsets',
      'partition_leases',
      'group_members',
      'group_events',
      'api_tokens',
      'topics',
      'message_batches',
    ];
    const parts: string[] = [];
    for (const t of tables) {
      const { rows } = await platform.pool.query(`SELECT to_jsonb(x) AS r FROM tributary.${t} x ORDER BY 1::text`);
      parts.push(
        `${t}:${JSON.stringify(rows.map((r) => r.r).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))))}`,
      );
    }
    return parts.join('\n');
  }

  it(`has at least 60 cases`, () => expect(CASES.length).toBeGreaterThanOrEqual(60));

  it('answers every case as expected and leaves the platform unchanged', async () => {
    const before = await snapshot();
    const results: { name: string; status: number; field?: string; type?: string }[] = [];
    for (const c of CASES) {
      const res = await callApi(base, c.method, c.path, c.body, { headers: c.headers });
      const body = (typeof res.body === 'object' ? res.body : {}) as { field?: string; detail?: string };
      results.push({
        name: c.name,
        status: res.status,
        field: c.field === undefined ? undefined : body.field,
        type: res.headers.get('content-type') ?? '',
      });
      expect(body.detail ?? '').not.toMatch(/unexpected error/);
    }
    expect(results).toEqual(
      CASES.map((c) => ({
        name: c.name,
        status: c.status,
        field: c.field,
        type: expect.stringMatching(/^application\/problem\+json/),
      })),
    );
    expect(await snapshot()).toEqual(before);
  });
});
