# Usage: python3 tests/reference/re6st_mesh.py SWEEP_DIR/sweep.csv
# (the sweep of scenarios/re6st-mesh-validate.json). Python's own random
# numbers, written apart from the simulator.
#
# Independent reference: each node in turn opens k tunnels to distinct nodes
# drawn uniformly at random (not itself, not one it already has), skipping a
# node that already accepted max_peers = 2k. Mean shortest path over ordered
# reachable pairs, exact BFS for n <= 1000, else 400 random sources.
import random, csv, math, sys
from collections import deque
def ref(n,k,seed):
    rnd=random.Random(seed); inc=[0]*n; adj=[set() for _ in range(n)]
    for a in range(n):
        opened=tries=0
        while opened<k and tries<100*n:
            tries+=1; b=rnd.randrange(n)
            if b==a or b in adj[a] or inc[b]>=2*k: continue
            inc[b]+=1; adj[a].add(b); adj[b].add(a); opened+=1
    adj=[list(s) for s in adj]
    srcs=range(n) if n<=1000 else rnd.sample(range(n),400)
    tot=cnt=0
    for s in srcs:
        d=[-1]*n; d[s]=0; q=deque([s])
        while q:
            u=q.popleft()
            for v in adj[u]:
                if d[v]<0: d[v]=d[u]+1; q.append(v)
        for x in d:
            if x>0: tot+=x; cnt+=1
    return tot/cnt
rows=list(csv.DictReader(open(sys.argv[1])))
worst=0
for r in rows:
    n=int(r['topology.nodes']); k=int(r['churn.tunnels_per_node']); ours=float(r['churn.avg_path_hops_end'])
    reps=3 if n<=400 else 1
    rv=sum(ref(n,k,s) for s in range(reps))/reps
    an=(math.log(n)-0.5772)/math.log(2*k)+0.5
    off=(ours-rv)/rv*100; worst=max(worst,abs(off))
    print(f"n {n:5} k {k:2}: ours {ours:.4f} reference {rv:.4f} ({off:+.2f}%) analytic {an:.4f} reachable {r['churn.reachable_end']}")
print(f"largest difference {worst:.2f}%")
