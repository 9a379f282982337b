// s3rver, answering HeadObject as S3 does for an object whose uploader sent
// a checksum (the AWS CLI sends a CRC32, and S3 keeps it): s3rver keeps none,
// so the fetch benchmark names them here.
//
//   node s3rver_checksums.js DIR PORT BUCKET CHECKSUMS_JSON
//
// CHECKSUMS_JSON maps a path to the headers S3 would add under
// `x-amz-checksum-mode: ENABLED`, e.g.
//   {"/bench/model.tar.gz": {"x-amz-checksum-crc32": "iH6F8A==", "x-amz-checksum-type": "FULL_OBJECT"}}
'use strict';
const fs = require('fs');
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

// s3rver knows one key, S3RVER; the caller's AWS_ACCESS_KEY_ID (the
// bench's user, where one runs beside it) is let in too. s3rver checks no
// SigV4 signature whatever the key.
if (process.env.AWS_ACCESS_KEY_ID)
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(process.env.AWS_ACCESS_KEY_ID,
                                         process.env.AWS_SECRET_ACCESS_KEY || '');

const [directory, port, bucket, checksumsFile] = process.argv.slice(2);
const checksums = JSON.parse(fs.readFileSync(checksumsFile, 'utf8'));
const server = new S3rver({
  directory,
  address: '127.0.0.1',
  port: Number(port),
  silent: true,
  configureBuckets: [{ name: bucket }],
});
// First in the chain, so it sees every answer s3rver's routes make. A
// range's answer carries no full-object checksum, as on S3.
server.middleware.unshift(async (ctx, next) => {
  await next();
  const kept = checksums[ctx.path];
  if (kept && ctx.get('x-amz-checksum-mode') === 'ENABLED' && !ctx.get('range')) ctx.set(kept);
});
server.run().catch(err => {
  console.error(err);
  process.exit(1);
});
