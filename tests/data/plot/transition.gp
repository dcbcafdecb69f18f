# stoch-plot transition: transition probabilities P(t)
# A gnuplot script with its data inline: edit it and run 'gnuplot FILE'.
if (!exists("gd") && strstrt(GPVAL_TERMINALS, " pngcairo ") > 0) {
    set terminal pngcairo size 640,450 font "sans,9" noenhanced
} else {
    set terminal png size 640,450 font "sans,9" noenhanced
}
set termoption noenhanced
$d1 << EOD
0 1 0
0.5 0.8717726585142282 0.12822734148577175
1 0.7837374863950333 0.21626251360496668
1.5 0.7232964646889393 0.2767035353110607
2 0.6818003556118716 0.3181996443881283
2.5 0.6533109783655854 0.34668902163441484
3 0.6337514429312194 0.36624855706878073
3.5 0.6203227385021646 0.37967726149783537
4 0.611103189129531 0.388896810870469
4.5 0.6047734578376188 0.39522654216238134
5 0.6004277467178604 0.3995722532821395
5.5 0.5974441753361617 0.40255582466383794
6 0.5953957883301282 0.4046042116698714
EOD
$d2 << EOD
0 0 1
0.5 0.1852172710350037 0.8147827289649964
1 0.3123791863182852 0.6876208136817149
1.5 0.39968288433819876 0.6003171156618012
2 0.4596217085606299 0.5403782914393702
2.5 0.5007730312497103 0.49922696875029005
3 0.5290256935437943 0.4709743064562058
3.5 0.5484227110524286 0.45157728894757126
4 0.5617398379240107 0.4382601620759894
4.5 0.5708827831234399 0.42911721687656046
5 0.5771599214075349 0.42284007859246514
5.5 0.5814695245144321 0.4185304754855674
6 0.5844283057453702 0.4155716942546293
EOD
set multiplot
# the key, drawn once above the panels
set lmargin at screen 0
set rmargin at screen 1
set tmargin at screen 1
set bmargin at screen 0.9422
unset border
unset tics
unset grid
unset title
unset xlabel
unset ylabel
set xrange [0:1]
set yrange [0:1]
set key center bottom horizontal maxcols 2 samplen 2
plot NaN with lines lw 1.5 lc rgb "#0072B2" dt 1 title "state 0", \
    NaN with lines lw 1.5 lc rgb "#D55E00" dt 1 title "state 1"
unset key
set border
set xtics
set ytics
set autoscale x
set autoscale y
set grid lc rgb "#e0e0e0"
set autoscale xfix
set yrange [0:1.02]
set xlabel "t"
set ylabel "P(state at t)"
set title "from state 0"
set lmargin at screen 0.1094
set rmargin at screen 0.9766
set tmargin at screen 0.8933
set bmargin at screen 0.5578
set ylabel "P(state at t)"
unset xlabel
plot $d1 using 1:2 with lines lw 1.5 lc rgb "#0072B2" dt 1 notitle, \
    $d1 using 1:3 with lines lw 1.5 lc rgb "#D55E00" dt 1 notitle
set title "from state 1"
set lmargin at screen 0.1094
set rmargin at screen 0.9766
set tmargin at screen 0.4356
set bmargin at screen 0.1000
set ylabel "P(state at t)"
set xlabel "t"
plot $d2 using 1:2 with lines lw 1.5 lc rgb "#0072B2" dt 1 notitle, \
    $d2 using 1:3 with lines lw 1.5 lc rgb "#D55E00" dt 1 notitle
unset multiplot
