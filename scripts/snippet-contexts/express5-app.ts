// An Express 5 app, as `express()` returns it (the real types, from @types/express).
declare const app: import('express').Express;
