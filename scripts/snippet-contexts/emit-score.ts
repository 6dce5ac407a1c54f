// The app code a quickstart streams: the current cricket score, comma-separated.
declare function emitScore(): string;
