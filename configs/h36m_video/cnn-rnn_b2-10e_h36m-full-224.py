# As cnn-lstm_b2-10e_h36m-full-224.py with a plain (Elman) RNN instead of the LSTM.
_base_ = ['./cnn-lstm_b2-10e_h36m-full-224.py']

model = dict(temporal_neck=dict(cell='rnn'))
