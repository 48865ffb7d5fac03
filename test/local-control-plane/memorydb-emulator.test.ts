import { expect } from 'chai';
import {
  CreateUserCommand,
  DeleteUserCommand,
  DescribeUsersCommand,
  ListTagsCommand,
  MemoryDBClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateUserCommand,
  UserNotFoundFault,
  paginateDescribeUsers,
  type User,
} from '@aws-sdk/client-memorydb';
import { MemoryDBEmulator, type EmulatorOptions } from '../../local-control-plane/memorydb/emulator.ts';

const PW1 = 'correct-horse-battery-1';
const PW2 = 'correct-horse-battery-2';

function client(emu: MemoryDBEmulator, opts: { maxAttempts?: number; region?: string } = {}): MemoryDBClient {
  return new MemoryDBClient({
    endpoint: emu.endpoint,
    region: opts.region ?? emu.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: opts.maxAttempts ?? 1,
  });
}

/** Runs `fn`, expects it to reject, returns the error. */
async function failure(fn: () => Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const createInput = (name: string, extra: Record<string, unknown> = {}) => ({
  UserName: name,
  AuthenticationMode: { Type: 'password' as const, Passwords: [PW1] },
  AccessString: 'on ~app:* &* +@read',
  ...extra,
});

describe('MemoryDB emulator', function () {
  let emu: MemoryDBEmulator;
  let mdb: MemoryDBClient;

  async function startWith(opts: EmulatorOptions = {}): Promise<void> {
    emu = await MemoryDBEmulator.start(opts);
    mdb = client(emu);
  }

  afterEach(async () => {
    mdb?.destroy();
    await emu?.stop();
  });

  describe('protocol', () => {
    beforeEach(() => startWith());

    it('maps error codes to err.name and the modelled exception class', async () => {
      const err = await failure(() => mdb.send(new DescribeUsersCommand({ UserName: 'nobody' })));
      expect(err.name).to.equal('UserNotFoundFault');
      expect(err).to.be.instanceOf(UserNotFoundFault);
      expect(err.message).to.match(/nobody/);
    });

    it('answers raw requests in AWS JSON 1.1 with __type and X-Amzn-ErrorType', async () => {
      const headers = {
        'content-type': 'application/x-amz-json-1.1',
        authorization: `AWS4-HMAC-SHA256 Credential=test/20250101/${emu.region}/memorydb/aws4_request, SignedHeaders=host, Signature=abcdef`,
      };
      const unknown = await fetch(emu.endpoint, { method: 'POST', headers: { ...headers, 'x-amz-target': 'AmazonMemoryDB.Frobnicate' }, body: '{}' });
      expect(unknown.status).to.equal(400);
      expect(unknown.headers.get('x-amzn-errortype')).to.equal('UnknownOperationException');
      expect(await unknown.json()).to.include({ __type: 'UnknownOperationException' });

      const noAuth = await fetch(emu.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonMemoryDB.DescribeUsers' },
        body: '{}',
      });
      expect(((await noAuth.json()) as { __type: string }).__type).to.equal('MissingAuthenticationTokenException');

      const ok = await fetch(emu.endpoint, { method: 'POST', headers: { ...headers, 'x-amz-target': 'AmazonMemoryDB.DescribeUsers' }, body: '{}' });
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('content-type')).to.equal('application/x-amz-json-1.1');
      const body = (await ok.json()) as { Users: Array<Record<string, unknown>> };
      expect(body.Users[0]).to.have.all.keys('Name', 'Status', 'AccessString', 'ACLNames', 'MinimumEngineVersion', 'Authentication', 'ARN');
    });

    it('rejects a credential scoped to another region', async () => {
      const other = client(emu, { region: 'eu-west-1' });
      try {
        const err = await failure(() => other.send(new DescribeUsersCommand({})));
        expect(err.name).to.equal('InvalidSignatureException');
      } finally {
        other.destroy();
      }
      expect(emu.calls.DescribeUsers ?? 0).to.equal(0);
    });
  });

  describe('lifecycle', () => {
    it('create → modifying → active → update → delete → deleting → gone (with timings)', async () => {
      await startWith({ modifyingMs: 150, deletingMs: 150 });
      const created = await mdb.send(new CreateUserCommand(createInput('App-User', { Tags: [{ Key: 'owner', Value: 'op' }] })));
      expect(created.User).to.deep.equal({
        Name: 'app-user',
        Status: 'modifying',
        AccessString: 'on ~app:* &* +@read'.replace('&* +@read', '&* -@all +@read'),
        ACLNames: [],
        MinimumEngineVersion: '6.2',
        Authentication: { Type: 'password', PasswordCount: 1 },
        ARN: 'arn:aws:memorydb:us-east-1:123456789012:user/app-user',
      });
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: 'app-user', AccessString: 'on ~* +get' })))).name).to.equal(
        'InvalidUserStateFault',
      );
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: 'app-user' })))).name).to.equal('InvalidUserStateFault');
      // describe by name is case-insensitive and returns exactly that user
      const d1 = await mdb.send(new DescribeUsersCommand({ UserName: 'APP-USER' }));
      expect(d1.Users?.map((u) => [u.Name, u.Status])).to.deep.equal([['app-user', 'modifying']]);

      await sleep(180);
      expect(emu.user('app-user')?.status).to.equal('active');
      const updated = await mdb.send(
        new UpdateUserCommand({ UserName: 'app-user', AuthenticationMode: { Type: 'password', Passwords: [PW1, PW2] } }),
      );
      expect(updated.User?.Status).to.equal('modifying');
      expect(updated.User?.Authentication).to.deep.equal({ Type: 'password', PasswordCount: 2 });
      expect(emu.user('app-user')?.passwords).to.deep.equal([PW1, PW2]);

      await sleep(180);
      const deleted = await mdb.send(new DeleteUserCommand({ UserName: 'app-user' }));
      expect(deleted.User?.Status).to.equal('deleting');
      expect((await mdb.send(new DescribeUsersCommand({ UserName: 'app-user' }))).Users?.[0]?.Status).to.equal('deleting');
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: 'app-user' })))).name).to.equal('InvalidUserStateFault');
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: 'app-user', AccessString: 'off' })))).name).to.equal(
        'InvalidUserStateFault',
      );
      // tags stay readable while deleting
      expect((await mdb.send(new ListTagsCommand({ ResourceArn: deleted.User!.ARN }))).TagList).to.deep.equal([{ Key: 'owner', Value: 'op' }]);

      await sleep(180);
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ UserName: 'app-user' })))).name).to.equal('UserNotFoundFault');
      expect(emu.user('app-user')).to.equal(undefined);
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: 'app-user' })))).name).to.equal('UserNotFoundFault');
    });

    it('with zero timings: active at once; DeleteUser answers deleting and the user is gone', async () => {
      await startWith();
      expect((await mdb.send(new CreateUserCommand(createInput('u1')))).User?.Status).to.equal('active');
      expect((await mdb.send(new UpdateUserCommand({ UserName: 'u1', AccessString: 'on ~* &* +@all' }))).User?.Status).to.equal('active');
      expect((await mdb.send(new DeleteUserCommand({ UserName: 'u1' }))).User?.Status).to.equal('deleting');
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ UserName: 'u1' })))).name).to.equal('UserNotFoundFault');
    });

    it('iam users: no passwords, no PasswordCount, engine 7.0', async () => {
      await startWith();
      const r = await mdb.send(new CreateUserCommand({ UserName: 'svc', AuthenticationMode: { Type: 'iam' }, AccessString: 'on ~* &* +@all' }));
      expect(r.User?.Authentication).to.deep.equal({ Type: 'iam' });
      expect(r.User?.MinimumEngineVersion).to.equal('7.0');
      // switching to password and back
      await mdb.send(new UpdateUserCommand({ UserName: 'svc', AuthenticationMode: { Type: 'password', Passwords: [PW1] } }));
      expect(emu.user('svc')).to.include({ authType: 'password', minimumEngineVersion: '6.2' });
      await mdb.send(new UpdateUserCommand({ UserName: 'svc', AuthenticationMode: { Type: 'iam' } }));
      expect(emu.user('svc')?.passwords).to.deep.equal([]);
    });

    it('the default user exists, is no-password and can be neither deleted nor modified', async () => {
      await startWith();
      const d = await mdb.send(new DescribeUsersCommand({ UserName: 'default' }));
      expect(d.Users?.[0]).to.deep.include({
        Name: 'default',
        Status: 'active',
        AccessString: 'on ~* &* +@all',
        Authentication: { Type: 'no-password' },
        ACLNames: ['open-access'],
      });
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: 'default' })))).name).to.equal('InvalidParameterValueException');
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: 'default', AccessString: 'off' })))).name).to.equal(
        'InvalidParameterValueException',
      );
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput('Default'))))).name).to.equal('UserAlreadyExistsFault');
    });
  });

  describe('constraints', () => {
    beforeEach(() => startWith());

    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['name starting with a digit', { UserName: '1abc' }, 'InvalidParameterValueException'],
      ['name with underscore', { UserName: 'a_b' }, 'InvalidParameterValueException'],
      ['name with --', { UserName: 'a--b' }, 'InvalidParameterValueException'],
      ['name ending with -', { UserName: 'ab-' }, 'InvalidParameterValueException'],
      ['name of 41 characters', { UserName: 'a'.repeat(41) }, 'InvalidParameterValueException'],
      ['password type without passwords', { AuthenticationMode: { Type: 'password' } }, 'InvalidParameterCombinationException'],
      ['password type with [] passwords', { AuthenticationMode: { Type: 'password', Passwords: [] } }, 'InvalidParameterCombinationException'],
      ['three passwords', { AuthenticationMode: { Type: 'password', Passwords: [PW1, PW2, PW1 + 'x'] } }, 'InvalidParameterValueException'],
      ['15-character password', { AuthenticationMode: { Type: 'password', Passwords: ['x'.repeat(15)] } }, 'InvalidParameterValueException'],
      ['129-character password', { AuthenticationMode: { Type: 'password', Passwords: ['x'.repeat(129)] } }, 'InvalidParameterValueException'],
      ['iam with a password', { AuthenticationMode: { Type: 'iam', Passwords: [PW1] } }, 'InvalidParameterCombinationException'],
      ['unknown auth type', { AuthenticationMode: { Type: 'no-password' } }, 'InvalidParameterValueException'],
      ['blank access string', { AccessString: '   ' }, 'InvalidParameterValueException'],
      ['access string with >password', { AccessString: 'on >secretsecretsecret ~* +@all' }, 'InvalidParameterValueException'],
      ['access string with <password', { AccessString: 'on <secretsecretsecret ~* +@all' }, 'InvalidParameterValueException'],
      ['access string with #hash', { AccessString: 'on #' + 'a'.repeat(64) + ' ~* +@all' }, 'InvalidParameterValueException'],
      ['access string with nopass', { AccessString: 'on nopass ~* +@all' }, 'InvalidParameterValueException'],
      ['access string with resetpass', { AccessString: 'on resetpass ~* +@all' }, 'InvalidParameterValueException'],
      ['access string with reset', { AccessString: 'reset on ~* +@all' }, 'InvalidParameterValueException'],
      ['access string with garbage', { AccessString: 'on ~* +@all frobnicate' }, 'InvalidParameterValueException'],
      ['tag key starting with aws:', { Tags: [{ Key: 'aws:x', Value: 'y' }] }, 'InvalidParameterValueException'],
      ['tag key of 129 characters', { Tags: [{ Key: 'k'.repeat(129), Value: 'y' }] }, 'InvalidParameterValueException'],
      ['tag value of 257 characters', { Tags: [{ Key: 'k', Value: 'v'.repeat(257) }] }, 'InvalidParameterValueException'],
      ['51 tags', { Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }, 'TagQuotaPerResourceExceeded'],
    ];
    for (const [title, override, code] of cases) {
      it(`CreateUser: ${title} → ${code}`, async () => {
        const err = await failure(() => mdb.send(new CreateUserCommand(createInput('valid-name', override) as never)));
        expect(err.name).to.equal(code);
        expect(emu.users().map((u) => u.name)).to.deep.equal(['default']);
      });
    }

    it('accepts the boundaries: 40-character name, 2 passwords of 16 and 128 characters, resetchannels/resetkeys', async () => {
      const name = 'a' + 'b1-c'.repeat(9) + 'xyz';
      expect(name).to.have.length(40);
      await mdb.send(
        new CreateUserCommand({
          UserName: name,
          AuthenticationMode: { Type: 'password', Passwords: ['p'.repeat(16), 'q'.repeat(128)] },
          AccessString: 'on resetkeys ~k:* resetchannels &c:* -@all +get',
        }),
      );
      expect(emu.user(name)?.accessString).to.equal('on resetkeys ~k:* resetchannels &c:* -@all +get');
    });

    it('names are case-insensitively unique, stored lower-case', async () => {
      await mdb.send(new CreateUserCommand(createInput('Alice')));
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput('ALICE'))))).name).to.equal('UserAlreadyExistsFault');
      expect(emu.users().map((u) => u.name)).to.deep.equal(['alice', 'default']);
    });

    it('normalises access strings', async () => {
      const cases: Array<[string, string]> = [
        ['on ~* &* +@all', 'on ~* &* +@all'],
        ['on +get', 'on resetchannels -@all +get'],
        ['on ~app:* +get +set', 'on ~app:* resetchannels -@all +get +set'],
        ['~* on  allchannels +@read', 'on ~* allchannels -@all +@read'],
        ['off ~*', 'off ~* resetchannels -@all'],
        ['ON ~* &* +@ALL -FLUSHALL', 'on ~* &* +@all -flushall'],
      ];
      let i = 0;
      for (const [input, stored] of cases) {
        const r = await mdb.send(new CreateUserCommand(createInput(`n${i++}`, { AccessString: input })));
        expect(r.User?.AccessString, input).to.equal(stored);
      }
    });

    it('UpdateUser validates like CreateUser and needs something to change', async () => {
      await mdb.send(new CreateUserCommand(createInput('bob')));
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: 'bob' })))).name).to.equal('InvalidParameterCombinationException');
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: 'bob', AccessString: 'on nopass' })))).name).to.equal(
        'InvalidParameterValueException',
      );
      expect((await failure(() => mdb.send(new UpdateUserCommand({ UserName: 'ghost', AccessString: 'on' })))).name).to.equal('UserNotFoundFault');
      expect(emu.user('bob')?.accessString).to.equal('on ~app:* &* -@all +@read');
    });

    it('enforces the user quota', async () => {
      emu.maxUsers = 3;
      for (const n of ['q1', 'q2', 'q3']) await mdb.send(new CreateUserCommand(createInput(n)));
      expect((await failure(() => mdb.send(new CreateUserCommand(createInput('q4'))))).name).to.equal('UserQuotaExceededFault');
      await mdb.send(new DeleteUserCommand({ UserName: 'q1' }));
      await mdb.send(new CreateUserCommand(createInput('q4')));
    });
  });

  describe('DescribeUsers pagination', () => {
    beforeEach(() => startWith());

    it('pages through 250 users (incl. default) with an opaque NextToken', async () => {
      for (let i = 0; i < 249; i++) emu.seedUser({ name: `user-${String(i).padStart(3, '0')}`, accessString: 'on ~* +get', passwords: [PW1] });
      const first = await mdb.send(new DescribeUsersCommand({}));
      expect(first.Users).to.have.length(100);
      expect(first.NextToken).to.be.a('string');
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateDescribeUsers({ client: mdb, pageSize: 20 }, {})) {
        pages++;
        seen.push(...(page.Users ?? []).map((u: User) => u.Name!));
      }
      expect(pages).to.equal(13);
      expect(seen).to.have.length(250);
      expect(new Set(seen).size).to.equal(250);
      expect(seen).to.include('default');
    });

    it('validates MaxResults and NextToken; supports a UserName filter', async () => {
      emu.seedUser({ name: 'a1', accessString: 'on' });
      emu.seedUser({ name: 'a2', accessString: 'on' });
      for (const mr of [0, 19, 101]) {
        expect((await failure(() => mdb.send(new DescribeUsersCommand({ MaxResults: mr })))).name, String(mr)).to.equal(
          'InvalidParameterValueException',
        );
      }
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ NextToken: 'garbage' })))).name).to.equal('InvalidParameterValueException');
      const f = await mdb.send(new DescribeUsersCommand({ Filters: [{ Name: 'UserName', Values: ['A2', 'nope'] }] }));
      expect(f.Users?.map((u) => u.Name)).to.deep.equal(['a2']);
      expect(
        (await failure(() => mdb.send(new DescribeUsersCommand({ UserName: 'a1', Filters: [{ Name: 'UserName', Values: ['a1'] }] })))).name,
      ).to.equal('InvalidParameterCombinationException');
    });
  });

  describe('tags', () => {
    beforeEach(() => startWith());

    it('adds, overwrites, lists and removes tags; enforces the quota and ARN rules', async () => {
      const { User: u } = await mdb.send(new CreateUserCommand(createInput('tagged', { Tags: [{ Key: 'a', Value: '1' }] })));
      const arn = u!.ARN!;
      const r1 = await mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'a', Value: '2' }, { Key: 'b', Value: 'x' }] }));
      expect(r1.TagList).to.deep.equal([
        { Key: 'a', Value: '2' },
        { Key: 'b', Value: 'x' },
      ]);
      expect(emu.user('tagged')?.tags).to.deep.equal({ a: '2', b: 'x' });
      const r2 = await mdb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['a'] }));
      expect(r2.TagList).to.deep.equal([{ Key: 'b', Value: 'x' }]);
      expect((await failure(() => mdb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['a'] })))).name).to.equal('TagNotFoundFault');
      expect((await mdb.send(new ListTagsCommand({ ResourceArn: arn }))).TagList).to.deep.equal([{ Key: 'b', Value: 'x' }]);

      const many = Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      await mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: many })); // 50 now
      expect((await failure(() => mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'one-more', Value: 'v' }] })))).name).to.equal(
        'TagQuotaPerResourceExceeded',
      );
      // overwriting an existing key at the quota is fine
      await mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'b', Value: 'y' }] }));
      expect((await failure(() => mdb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'aws:x', Value: 'v' }] })))).name).to.equal(
        'InvalidParameterValueException',
      );

      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: 'not-an-arn' })))).name).to.equal('InvalidARNFault');
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn.replace('tagged', 'ghost') })))).name).to.equal('UserNotFoundFault');
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn.replace('user/tagged', 'acl/x') })))).name).to.equal(
        'ACLNotFoundFault',
      );
      expect((await failure(() => mdb.send(new ListTagsCommand({ ResourceArn: arn.replace('us-east-1', 'eu-west-1') })))).name).to.equal(
        'InvalidARNFault',
      );
    });
  });

  describe('faults', () => {
    beforeEach(() => startWith());

    it('throttling happens before any effect and is retried by the SDK', async () => {
      emu.faults.throttleRate = 1;
      const err = await failure(() => mdb.send(new CreateUserCommand(createInput('t1'))));
      expect(err.name).to.equal('ThrottlingException');
      expect(err.message).to.equal('Rate exceeded');
      expect(emu.user('t1')).to.equal(undefined);
      emu.faults.clear();

      emu.faults.failNext('CreateUser', 'ThrottlingException', 2);
      const retrying = client(emu, { maxAttempts: 3 });
      try {
        const r = await retrying.send(new CreateUserCommand(createInput('t1')));
        expect(r.User?.Name).to.equal('t1');
        expect(r.$metadata.attempts).to.equal(3);
      } finally {
        retrying.destroy();
      }
      expect(emu.calls.CreateUser).to.equal(4); // 1 with throttleRate, then 2 throttled + 1 success
      expect(emu.callLog.map((c) => c.error)).to.deep.equal(['ThrottlingException', 'ThrottlingException', 'ThrottlingException', undefined]);
    });

    it('failNext answers the given code (5xx for InternalFailure) and then recovers', async () => {
      emu.faults.failNext('DescribeUsers', 'InternalFailure');
      emu.faults.failNext('DescribeUsers', 'InvalidParameterValueException', 1, 'nope');
      const e1 = await failure(() => mdb.send(new DescribeUsersCommand({})));
      expect(e1.name).to.equal('InternalFailure');
      expect(e1.$metadata?.httpStatusCode).to.equal(500);
      const e2 = await failure(() => mdb.send(new DescribeUsersCommand({})));
      expect([e2.name, e2.message, e2.$metadata?.httpStatusCode]).to.deep.equal(['InvalidParameterValueException', 'nope', 400]);
      expect((await mdb.send(new DescribeUsersCommand({}))).Users).to.have.length(1);

      // 5xx is transient for the SDK's default retry strategy
      emu.faults.failNext('DescribeUsers', 'ServiceUnavailable');
      const retrying = client(emu, { maxAttempts: 2 });
      try {
        expect((await retrying.send(new DescribeUsersCommand({}))).$metadata.attempts).to.equal(2);
      } finally {
        retrying.destroy();
      }
    });

    it('ResponseLost applies the change but the client sees a network error; a retry sees UserAlreadyExistsFault', async () => {
      emu.faults.failNext('CreateUser', 'ResponseLost');
      const err = await failure(() => mdb.send(new CreateUserCommand(createInput('lost'))));
      expect(err.name).to.not.equal('UserAlreadyExistsFault');
      expect(emu.user('lost')?.status).to.equal('active');

      emu.faults.failNext('CreateUser', 'ResponseLost');
      const retrying = client(emu, { maxAttempts: 2 });
      try {
        const e2 = await failure(() => retrying.send(new CreateUserCommand(createInput('lost2'))));
        expect(e2.name).to.equal('UserAlreadyExistsFault');
      } finally {
        retrying.destroy();
      }
      expect(emu.calls.CreateUser).to.equal(3);
    });

    it('resetRate destroys the socket before any effect; latencyMs delays answers', async () => {
      emu.faults.resetRate = 1;
      await failure(() => mdb.send(new CreateUserCommand(createInput('r1'))));
      expect(emu.user('r1')).to.equal(undefined);
      emu.faults.clear();
      emu.faults.latencyMs = 120;
      const t0 = Date.now();
      await mdb.send(new DescribeUsersCommand({}));
      expect(Date.now() - t0).to.be.at.least(110);
    });
  });

  describe('inspection', () => {
    beforeEach(() => startWith());

    it('never exposes passwords over HTTP or in the call log', async () => {
      await mdb.send(new CreateUserCommand(createInput('secretive', { AuthenticationMode: { Type: 'password', Passwords: [PW1, PW2] } })));
      const text = await (await fetch(`${emu.endpoint}/_emulator/users`)).text();
      expect(text).to.not.include(PW1);
      expect(text).to.not.include(PW2);
      const users = (JSON.parse(text) as { users: Array<Record<string, unknown>> }).users;
      const u = users.find((x) => x.name === 'secretive')!;
      expect(u).to.not.have.property('passwords');
      expect(u.passwordCount).to.equal(2);
      expect(JSON.stringify(emu.callLog)).to.not.include(PW1);
      expect(emu.callLog[0]?.input).to.deep.include({ AuthenticationMode: { Type: 'password', Passwords: ['***', '***'] } });
      const calls = (await (await fetch(`${emu.endpoint}/_emulator/calls`)).json()) as { calls: Record<string, number> };
      expect(calls.calls).to.deep.equal({ CreateUser: 1 });
      emu.resetCalls();
      expect(emu.calls).to.deep.equal({});
      expect(emu.callLog).to.have.length(0);
    });

    it('out-of-band changes are visible through the API', async () => {
      emu.seedUser({ name: 'foreign', accessString: 'on ~* +@all', passwords: [PW1], tags: { team: 'other' } });
      emu.mutateUser('foreign', { accessString: 'off ~* +@all', passwords: [PW1, PW2] });
      const d = await mdb.send(new DescribeUsersCommand({ UserName: 'foreign' }));
      expect(d.Users?.[0]).to.deep.include({ AccessString: 'off ~* resetchannels +@all', Authentication: { Type: 'password', PasswordCount: 2 } });
      emu.mutateUser('foreign', { status: 'modifying' });
      expect((await failure(() => mdb.send(new DeleteUserCommand({ UserName: 'foreign' })))).name).to.equal('InvalidUserStateFault');
      emu.mutateUser('foreign', { status: 'modifying', statusMs: 30 });
      await sleep(40);
      expect(emu.user('foreign')?.status).to.equal('active');
      emu.deleteUserOutOfBand('foreign');
      expect((await failure(() => mdb.send(new DescribeUsersCommand({ UserName: 'foreign' })))).name).to.equal('UserNotFoundFault');
    });
  });
});
