#!/usr/bin/env python3
"""Import circles between src/'s top-level modules: an edge A -> B for every `crate::B` a file of A names outside
comments and test modules; prints the strongly connected components with more than one module (Tarjan). [] = none.
Usage: python3 scripts/import-circles.py [SRC]"""
import os,re,sys
from collections import defaultdict
root=sys.argv[1] if len(sys.argv) > 1 else 'src'
mods=set()
for e in os.listdir(root):
    if e.endswith('.rs') and e not in ('lib.rs','main.rs'): mods.add(e[:-3])
    elif os.path.isdir(os.path.join(root,e)): mods.add(e)
g=defaultdict(set)
for dp,_,fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p=os.path.join(dp,f)
        rel=os.path.relpath(p,root)
        top=rel.split('/')[0].replace('.rs','')
        if top not in mods: continue
        s=open(p).read()
        # drop test modules roughly
        s=re.split(r'#\[cfg\(test\)\]\s*mod tests\s*\{',s)[0]
        s='\n'.join(l for l in s.split('\n') if not l.strip().startswith('//'))
        if f.endswith('_tests.rs') or f=='tests.rs': continue
        for m in re.findall(r'crate::(\w+)',s):
            if m in mods and m!=top: g[top].add(m)
# tarjan
idx={};low={};st=[];on=set();res=[];c=[0]
def sc(v):
    idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
    for w in g[v]:
        if w not in idx: sc(w);low[v]=min(low[v],low[w])
        elif w in on: low[v]=min(low[v],idx[w])
    if low[v]==idx[v]:
        comp=[]
        while True:
            w=st.pop();on.discard(w);comp.append(w)
            if w==v: break
        if len(comp)>1: res.append(comp)
sys.setrecursionlimit(10000)
for v in list(mods):
    if v not in idx: sc(v)
print(res)
