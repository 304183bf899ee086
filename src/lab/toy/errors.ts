/** A toy-lab option that cannot be used; the message names the option and what was expected. */
export class ToyOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToyOptionError';
  }
}
