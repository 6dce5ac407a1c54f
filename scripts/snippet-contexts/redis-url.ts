// Where Redis is.
declare const url: string;
