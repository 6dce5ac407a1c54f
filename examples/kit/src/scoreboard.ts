export interface Scoreboard {
  /** The score as `team,runs,wickets,overs`, e.g. `India,187,4,31.2`; each call bowls one ball. */
  emitScore(): string;
}

const OUTCOMES = [0, 0, 1, 1, 1, 2, 4, 6, 'W'] as const;

/** A simulated cricket innings, advancing a ball per call; `random` makes it deterministic in tests. */
export function createScoreboard(team = 'India', random: () => number = Math.random): Scoreboard {
  let runs = 0;
  let wickets = 0;
  let balls = 0;
  return {
    emitScore() {
      if (wickets < 10) {
        const outcome = OUTCOMES[Math.floor(random() * OUTCOMES.length)] ?? 0;
        if (outcome === 'W') wickets += 1;
        else runs += outcome;
        balls += 1;
      }
      return `${team},${runs},${wickets},${Math.floor(balls / 6)}.${balls % 6}`;
    },
  };
}
