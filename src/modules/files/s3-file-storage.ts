import { PassThrough, Readable } from 'node:stream';

import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import type { AppConfig } from 'src/config/app-config';
import { ByteCounter, FileStorage, assertFileStoreKey } from 'src/modules/files/file-storage';

export interface S3FileStorageOptions {
  bucket: string;
  /** Prepended to every key (e.g. `omnigent/files/`); may be empty. */
  prefix: string;
}

/**
 * Session files in an S3-compatible bucket (AWS S3, MinIO, R2, …), selected with
 * `OMNIGENT_FILES_STORAGE=s3`. Uploads stream through a multipart upload (nothing is buffered
 * whole: parts of 5 MiB); an object appears only once its upload completes, so a refused or
 * broken upload leaves nothing behind (the multipart upload is aborted).
 */
export class S3FileStorage extends FileStorage {
  constructor(
    private readonly client: S3Client,
    private readonly options: S3FileStorageOptions,
  ) {
    super();
  }

  async write(key: string, source: Readable, maxBytes: number): Promise<number> {
    const objectKey = this.keyOf(key);
    const counter = new ByteCounter(maxBytes);
    const body = source.pipe(counter);
    source.on('error', (error) => counter.destroy(error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: objectKey, Body: body },
      queueSize: 1,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      return counter.bytes;
    } catch (error) {
      await upload.abort().catch(() => undefined);
      // A single-part upload may have landed before the stream failed: remove it.
      await this.delete(key).catch(() => undefined);
      // ByteCounter's refusal wins over the SDK's wrapping of it.
      throw counter.failure ?? error;
    }
  }

  read(key: string): Readable {
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }))
      .then((result) => {
        const body = result.Body as Readable;
        body.on('error', (error) => out.destroy(error));
        body.pipe(out);
      })
      .catch((error: Error & { name?: string }) => {
        const missing = error.name === 'NoSuchKey' || error.name === 'NotFound';
        out.destroy(
          missing ? Object.assign(new Error(`No file '${key}'`), { code: 'ENOENT' }) : error,
        );
      });
    return out;
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const source = `${this.options.bucket}/${this.keyOf(fromKey)}`;
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.options.bucket,
        Key: this.keyOf(toKey),
        CopySource: source.split('/').map(encodeURIComponent).join('/'),
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }),
    );
  }

  async deletePrefix(prefix: string): Promise<void> {
    const listed = `${this.keyOf(prefix)}/`;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: listed,
          ContinuationToken: token,
        }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length > 0) {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.options.bucket,
            Delete: { Objects: keys, Quiet: true },
          }),
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private keyOf(key: string): string {
    assertFileStoreKey(key);
    return `${this.options.prefix}${key}`;
  }
}

/** The backend of `OMNIGENT_FILES_STORAGE=s3`; credentials come from the AWS SDK's usual chain. */
export function createS3FileStorage(s3: AppConfig['files']['s3']): S3FileStorage {
  const client = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
  });
  return new S3FileStorage(client, { bucket: s3.bucket, prefix: s3.prefix });
}
