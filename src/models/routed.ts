import { makeClassCondModel, openShippedFolder, type ClassCondModel, type LoadOptions } from './classcond.js';

/**
 * A shipped mixture-of-experts model (training/dit.py): the usual signature plus `route` float32 [B],
 * +1 = every token to its top-k experts (how it was trained: the strong leg), −1 = to its bottom-k experts
 * (the weak leg, paper §5.4). One session serves both legs.
 */
export interface RoutedPair {
  readonly top: ClassCondModel;
  readonly bottom: ClassCondModel;
}

export const ROUTE_TOP = 1;
export const ROUTE_BOTTOM = -1;

export async function loadRoutedPair(path: string, opts: LoadOptions = {}): Promise<RoutedPair> {
  const f = await openShippedFolder(path, opts, ['route']);
  return {
    top: makeClassCondModel(`${f.name} top-k`, f.dir, f.scheduler, f.config, f.session, { route: ROUTE_TOP }),
    bottom: makeClassCondModel(`${f.name} bottom-k`, f.dir, f.scheduler, f.config, f.session, { route: ROUTE_BOTTOM }),
  };
}
