import {
  attachmentDisposition,
  mediaTypeOfName,
  resolveUploadType,
  safeFilename,
} from 'src/modules/files/media-type.util';

describe('media-type.util', () => {
  describe('resolveUploadType', () => {
    it('should keep a declared type it accepts', () => {
      expect(resolveUploadType('image/png', 'a.png')).toEqual({ type: 'image/png', kind: 'image' });
      expect(resolveUploadType('Application/PDF; x=y', 'a')).toEqual({
        type: 'application/pdf',
        kind: 'pdf',
      });
      expect(resolveUploadType('text/csv', 'a.csv')).toEqual({ type: 'text/csv', kind: 'text' });
    });

    it('should fall back to the extension for mislabelled text and code', () => {
      expect(resolveUploadType('application/octet-stream', 'main.py')).toEqual({
        type: 'text/plain',
        kind: 'text',
      });
      expect(resolveUploadType('application/x-sh', 'run.sh')).toEqual({
        type: 'text/plain',
        kind: 'text',
      });
      expect(resolveUploadType(undefined, 'data.json')).toEqual({
        type: 'application/json',
        kind: 'text',
      });
    });

    it('should use the extension for an image only when no specific type was declared', () => {
      expect(resolveUploadType(undefined, 'a.png')).toEqual({ type: 'image/png', kind: 'image' });
      expect(resolveUploadType('application/x-msdownload', 'a.png')).toBeNull();
    });

    it('should refuse other types', () => {
      expect(resolveUploadType('application/zip', 'a.zip')).toBeNull();
      expect(resolveUploadType('application/octet-stream', 'a.exe')).toBeNull();
      expect(resolveUploadType(undefined, 'noext')).toBeNull();
    });
  });

  describe('safeFilename', () => {
    it('should keep only the last path segment', () => {
      expect(safeFilename('../../etc/passwd')).toBe('passwd');
      expect(safeFilename('..\\..\\win.ini')).toBe('win.ini');
    });

    it('should refuse empty, dot and dot-dot names and strip control characters', () => {
      expect(safeFilename('')).toBeNull();
      expect(safeFilename('..')).toBeNull();
      expect(safeFilename('a/..')).toBeNull();
      expect(safeFilename('a\u0000b\nc.txt')).toBe('abc.txt');
    });
  });

  it('should guess download types from names', () => {
    expect(mediaTypeOfName('x.JPG')).toBe('image/jpeg');
    expect(mediaTypeOfName('x.ts')).toBe('text/plain');
    expect(mediaTypeOfName('x.bin')).toBeNull();
    expect(mediaTypeOfName('.bashrc')).toBeNull();
  });

  it('should quote and encode the attachment name', () => {
    expect(attachmentDisposition('r"é.txt')).toBe(
      `attachment; filename="r__.txt"; filename*=UTF-8''r%22%C3%A9.txt`,
    );
  });
});
