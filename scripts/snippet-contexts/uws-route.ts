// The app logic of the quickstart: what GET <path> answers.
declare function route(path: string): { status: number; body: string };
