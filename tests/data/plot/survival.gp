# stoch-plot transition: survival from each starting state
# A gnuplot script with its data inline: edit it and run 'gnuplot FILE'.
if (!exists("gd") && strstrt(GPVAL_TERMINALS, " pngcairo ") > 0) {
    set terminal pngcairo size 640,400 font "sans,9" noenhanced
} else {
    set terminal png size 640,400 font "sans,9" noenhanced
}
set termoption noenhanced
$d1 << EOD
0 1 1
0.5 0.8574039191604412 1
1 0.7351414805916845 1
1.5 0.6303131865967198 1
2 0.5404329964865341 1
2.5 0.4633693692311753 1
3 0.39729471319771126 1
3.5 0.3406420441574411 1
4 0.29206782369141415 1
4.5 0.25042009669367926 1
5 0.21471117234169726 1
5.5 0.18409420065330415 1
6 0.15784308913485165 1
EOD
$d2 << EOD
0 1 1
0.5 0.8007374029168081 1
1 0.6411803884299546 1
1.5 0.513417119032592 1
2 0.41111229050718745 1
2.5 0.32919298780790557 1
3 0.26359713811572677 1
3.5 0.21107208779109024 1
4 0.1690133154060661 1
4.5 0.1353352832366127 1
5 0.10836802322189586 1
5.5 0.08677432947392927 1
6 0.06948345122280154 1
EOD
set grid lc rgb "#e0e0e0"
set autoscale xfix
set yrange [0:1.02]
set xlabel "t"
set ylabel "probability"
set key outside bottom center horizontal maxcols 2 samplen 2
plot $d1 using 1:2 with lines lw 2 lc rgb "#0072B2" title "from 0: no jump yet", \
    $d2 using 1:2 with lines lw 2 lc rgb "#D55E00" title "from 1: no jump yet"
