/**
 * `Name: message` for an `Error`, `String(value)` for anything else, and
 * never a throw: a thrown value is untrusted input, and an error whose
 * `name`, `message` or `toString` throws, an object without a prototype or a
 * revoked `Proxy` must still be described.
 */
export function describe(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    try {
      return Object.prototype.toString.call(error);
    } catch {
      return `[${typeof error}]`;
    }
  }
}
