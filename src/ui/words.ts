/** "1 error", "2 errors", "1 load balancer", "3 load balancers". */
export function counted(n: number, singular: string): string {
  return `${n} ${n === 1 ? singular : `${singular}s`}`;
}
