import { plainRow, reflectionRow, type LegSpec, type Row } from './rows.js';

const INVERSION_ROWS = [
  ['ddim', 'W2SD (ddim inversion)'],
  ['official-lagged', 'W2SD (official-lagged inversion)'],
  ['fixed-point', 'W2SD (fixed-point inversion)'],
] as const;

/** The rows every weight pair gets: W2SD under each inversion, the controls and the equal-compute variants. */
export function weightPairRows(
  main: LegSpec,
  strong: LegSpec,
  weak: LegSpec,
  s: { readonly fixedPoint: { readonly tolerance: number; readonly maxIterations: number; readonly strict?: boolean } },
): Row[] {
  const fp = { fixedPoint: s.fixedPoint };
  return [
    ...INVERSION_ROWS.map(([inversion, name]) =>
      reflectionRow({ id: `w2sd-${inversion}`, name, group: 'w2sd', main, strong, weak, inversion, settings: fp }),
    ),
    reflectionRow({
      id: 's2wd',
      name: 'S2WD (roles swapped)',
      group: 'control',
      main,
      strong,
      weak,
      kind: 's2wd',
      note: 'negative control: reflects along strong→weak; must not beat the strong model',
    }),
    reflectionRow({
      id: 'self-ddim',
      name: 'self-reflection (ddim)',
      group: 'control',
      main,
      strong,
      weak: strong,
      kind: 'self',
      note: 'control: weak = strong; any change is the ddim inversion\'s round-trip error',
    }),
    reflectionRow({
      id: 'self-fixed-point',
      name: 'self-reflection (fixed-point)',
      group: 'control',
      main,
      strong,
      weak: strong,
      kind: 'self',
      inversion: 'fixed-point',
      settings: fp,
      note: 'control: weak = strong with the exact inverse; should equal the strong row up to solver tolerance',
    }),
    reflectionRow({
      id: 'w2sd-equal-compute',
      name: "W2SD equal compute (T' + 2λ = T)",
      group: 'equal-compute',
      main,
      strong,
      weak,
      kind: 'equal-compute',
      note: "paper §5.2 at exactly the strong row's evaluations per image: T' steps and λ ≈ T'/2 reflections with T' + 2λ = T",
    }),
    reflectionRow({
      id: 'self-equal-compute',
      name: "self-reflection equal compute (T' + 2λ = T)",
      group: 'control',
      main,
      strong,
      weak: strong,
      kind: 'equal-compute',
      note: 'control for the equal-compute row: the same schedule and round trips with weak = strong',
    }),
    plainRow('strong-3t', 'strong alone, 3T−2 steps', 'equal-compute', main, (t) => 3 * t - 2),
  ];
}
