// The application's token check (a JWT verified with `jose`, a session looked up): its claims, or undefined.
declare function verifyToken(
  token: string,
): Promise<{ sub: string; exp: number; topics?: string[] | undefined } | undefined>;
