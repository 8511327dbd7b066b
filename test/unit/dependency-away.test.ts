import { Metadata, status } from '@grpc/grpc-js';
import { ServiceError } from '@temporalio/client';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { dependencyAway } from '../../api/errors';

/** An error as postgres.js or Node raises it: a message and a code. */
const driverError = (code: string) => Object.assign(new Error(`driver: ${code}`), { code });
/** A gRPC error as @grpc/grpc-js raises it, wrapped by the Temporal client. */
const grpcError = (code: status) =>
  new ServiceError('Workflow Update failed', {
    cause: Object.assign(new Error(`${code}`), { code, details: '', metadata: new Metadata() }),
  });

describe('dependencyAway: errors that mean a dependency is away for now (the API answers 503 with Retry-After)', () => {
  it.each(['ECONNREFUSED', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', '57P01', '57P03', '08006'])(
    'the database, through the ORM wrapper: %s',
    (code) => {
      expect(dependencyAway(new DrizzleQueryError('select 1', [], driverError(code)))).toBe('database');
    },
  );

  it.each([status.UNAVAILABLE, status.DEADLINE_EXCEEDED])('Temporal, through the client wrapper: gRPC status %s', (code) => {
    expect(dependencyAway(grpcError(code))).toBe('temporal');
  });

  it('not a data error, a bug, or another gRPC status', () => {
    expect(dependencyAway(new DrizzleQueryError('insert', [], driverError('23505')))).toBeUndefined();
    expect(dependencyAway(new DrizzleQueryError('insert', [], driverError('40001')))).toBeUndefined();
    expect(dependencyAway(new DrizzleQueryError('insert', [], driverError('08P01')))).toBeUndefined();
    expect(dependencyAway(new TypeError('x is undefined'))).toBeUndefined();
    expect(dependencyAway(grpcError(status.INVALID_ARGUMENT))).toBeUndefined();
    expect(dependencyAway(Object.assign(new Error('a number that is not gRPC'), { code: 14 }))).toBeUndefined();
  });
});
