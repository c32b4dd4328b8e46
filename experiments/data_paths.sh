# Sourced by the run_*.sh scripts: where the benchmark data live (not shipped with
# seqvi; SEQVI_DATA overrides) and the --config.data_path flag of a polyphonic set.
data_dir=${SEQVI_DATA:-../shared/data}
data_path() {  # the flag for a data set name (none for the embedded JSB chorales)
  case $1 in
    nottingham) echo --config.data_path=$data_dir/polyphonic/Nottingham.mat ;;
    piano_midi) echo --config.data_path=$data_dir/polyphonic/Piano_midi.mat ;;
  esac
}
