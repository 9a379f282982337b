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
// s3rver knows nothing of aws-chunked bodies (S3's framing for uploads
// with flexible checksums, which fahr and the SDKs send): it would store the
// framing with the data. Such a body is decoded here on its way in, as S3
// does, and its trailing CRC32 checked against the data (a mismatch fails
// the request). Chunk signatures are not checked: s3rver checks no SigV4
// signature; tests/bench/aws_chunked.py does, in the integration tests.
const { Transform } = require('stream');
const zlib = require('zlib');

class AwsChunkedDecoder extends Transform {
  constructor() {
    super();
    this.line = Buffer.alloc(0);
    this.left = 0; // data bytes left in this chunk
    this.state = 'size';
    this.crc = 0;
    this.trailer = {};
  }

  _transform(buffer, encoding, done) {
    try {
      let at = 0;
      while (at < buffer.length) {
        if (this.state === 'data') {
          const step = Math.min(this.left, buffer.length - at);
          const piece = buffer.subarray(at, at + step);
          this.crc = zlib.crc32(piece, this.crc);
          this.push(piece);
          at += step;
          this.left -= step;
          if (this.left === 0) this.state = 'crlf';
          continue;
        }
        const end = buffer.indexOf(10, at); // lines end in CRLF
        const stop = end < 0 ? buffer.length : end + 1;
        this.line = Buffer.concat([this.line, buffer.subarray(at, stop)]);
        at = stop;
        if (end < 0) continue;
        const text = this.line.toString('latin1').replace(/\r\n$/, '');
        this.line = Buffer.alloc(0);
        this.takeLine(text);
      }
      done();
    } catch (err) {
      done(err);
    }
  }

  takeLine(text) {
    if (this.state === 'crlf') {
      if (text !== '') throw new Error('aws-chunked: no CRLF after a chunk');
      this.state = 'size';
    } else if (this.state === 'size') {
      const size = parseInt(text.split(';')[0], 16);
      if (!(size >= 0)) throw new Error(`aws-chunked: bad chunk size ${text.slice(0, 40)}`);
      this.left = size;
      this.state = size === 0 ? 'trailer' : 'data';
    } else if (this.state === 'trailer') {
      if (text === '') {
        this.state = 'end';
        return;
      }
      const colon = text.indexOf(':');
      this.trailer[text.slice(0, colon).toLowerCase()] = text.slice(colon + 1);
    } else {
      throw new Error('aws-chunked: bytes after the trailer');
    }
  }

  _flush(done) {
    if (this.state !== 'end') return done(new Error('aws-chunked: the body ends early'));
    const given = this.trailer['x-amz-checksum-crc32'];
    if (given !== undefined) {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(this.crc >>> 0);
      if (crc.toString('base64') !== given)
        return done(new Error(`aws-chunked: x-amz-checksum-crc32 ${given} does not match the data`));
    }
    done();
  }
}

server.middleware.unshift(async (ctx, next) => {
  const encoding = ctx.get('content-encoding');
  if (!encoding.split(',').map(e => e.trim()).includes('aws-chunked')) return next();
  const req = ctx.req;
  const decoder = new AwsChunkedDecoder();
  req.pipe(decoder);
  req.on('error', err => decoder.destroy(err));
  // The decoded stream stands in for the request wherever s3rver reads it.
  const headers = { ...req.headers, 'content-length': ctx.get('x-amz-decoded-content-length') };
  const rest = encoding.split(',').map(e => e.trim()).filter(e => e !== 'aws-chunked');
  if (rest.length) headers['content-encoding'] = rest.join(',');
  else delete headers['content-encoding'];
  for (const name of ['method', 'url', 'socket', 'connection', 'httpVersion', 'httpVersionMajor',
                      'httpVersionMinor', 'rawHeaders'])
    decoder[name] = req[name];
  decoder.headers = headers;
  ctx.req = ctx.request.req = decoder;
  return next();
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
