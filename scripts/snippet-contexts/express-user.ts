// What an auth middleware in front (Passport, express-jwt, a session) sets on the request: the
// signed-in user, as that middleware's types declare it.
declare global {
  namespace Express {
    interface Request {
      user?: { id: string; expiresAt: number } | undefined;
    }
  }
}
// That middleware: sets req.user when the credentials are good, or answers 401 itself.
declare const requireUser: import('express').RequestHandler;
