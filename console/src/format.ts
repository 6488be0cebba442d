/** Unix seconds as the reader's local date and time. */
export function formatTime(seconds: number | undefined): string {
  if (!seconds) {
    return '';
  }
  return new Date(seconds * 1000).toLocaleString();
}
